import type { ReactNode } from "react";
import Card from "react-bootstrap/Card";
import "./account.css";

/** The centered card the signed-out pages sit in, with the product name above it. */
export function AuthCard({ title, children, footer }: { title: string; children: ReactNode; footer?: ReactNode }) {
  return (
    <main className="auth-page">
      <div className="auth-wrap">
        <p className="auth-brand text-center">Jeco Chat</p>
        <Card className="shadow-sm">
          <Card.Body className="p-4">
            <h1 className="h4 mb-3 text-center">{title}</h1>
            {children}
            {footer && <p className="text-center border-top pt-3 mt-3 mb-0">{footer}</p>}
          </Card.Body>
        </Card>
      </div>
    </main>
  );
}
