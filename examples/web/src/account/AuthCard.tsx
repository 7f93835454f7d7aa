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
          </Card.Body>
          {footer && <Card.Footer className="text-center small py-3">{footer}</Card.Footer>}
        </Card>
      </div>
    </main>
  );
}
