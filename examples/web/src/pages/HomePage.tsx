import { Link } from "react-router-dom";
import "../chat/chat.css";

/** No conversation open: a welcome panel on wide screens (on phones the sidebar takes the screen). */
export function HomePage() {
  return (
    <div className="chat-home d-flex flex-column align-items-center justify-content-center text-center h-100 p-4">
      <h1 className="h4">Welcome to Jeco Chat</h1>
      <p className="text-body-secondary">Pick a conversation or browse rooms.</p>
      <Link to="/rooms" className="btn btn-primary">Browse rooms</Link>
    </div>
  );
}
