import Button from "react-bootstrap/Button";
import Card from "react-bootstrap/Card";
import { Link } from "react-router-dom";
import { AvatarUpload } from "../account/AvatarUpload";
import { PasswordForm } from "../account/PasswordForm";
import { ProfileForm } from "../account/ProfileForm";
import { logout, useMe } from "../auth/session";
import "../account/account.css";

/** My own account: how others see me, my password, signing out. */
export function ProfilePage() {
  const me = useMe();
  return (
    <div className="account-page">
      <h1 className="h3 mb-3">Your profile</h1>
      <p className="text-body-secondary">
        Signed in as <strong>@{me.username}</strong> ({me.email}). <Link to={`/users/${me.id}`}>See your public profile</Link>.
      </p>
      <Card className="mb-3">
        <Card.Header as="h2" className="h5">Avatar</Card.Header>
        <Card.Body><AvatarUpload me={me} /></Card.Body>
      </Card>
      <Card className="mb-3">
        <Card.Header as="h2" className="h5">Profile</Card.Header>
        <Card.Body><ProfileForm key={me.id} me={me} /></Card.Body>
      </Card>
      <Card className="mb-3">
        <Card.Header as="h2" className="h5">Password</Card.Header>
        <Card.Body><PasswordForm username={me.username} /></Card.Body>
      </Card>
      <Card className="mb-3">
        <Card.Header as="h2" className="h5">Sign out</Card.Header>
        <Card.Body>
          <p className="text-body-secondary small">Signs this browser out. To sign out everywhere, change your password.</p>
          <Button variant="outline-danger" onClick={() => void logout()}>Sign out</Button>
        </Card.Body>
      </Card>
    </div>
  );
}
