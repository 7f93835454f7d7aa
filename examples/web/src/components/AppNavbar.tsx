import Container from "react-bootstrap/Container";
import Nav from "react-bootstrap/Nav";
import Navbar from "react-bootstrap/Navbar";
import NavDropdown from "react-bootstrap/NavDropdown";
import { Link, NavLink } from "react-router-dom";
import { Avatar } from "../account/Avatar";
import { displayName } from "../account/format";
import { NotificationBell } from "../account/NotificationBell";
import { logout, useMe } from "../auth/session";

/** The top bar: brand, sections, the notifications bell and the account menu; collapses on phones. */
export function AppNavbar() {
  const me = useMe();
  const name = displayName(me);
  return (
    <Navbar expand="md" className="bg-body-tertiary border-bottom" collapseOnSelect aria-label="Main navigation">
      <Container fluid>
        <Navbar.Brand as={Link} to="/">Jeco Chat</Navbar.Brand>
        <div className="d-flex align-items-center gap-2 order-md-last">
          <Nav className="flex-row">
            <NotificationBell />
          </Nav>
          <Navbar.Toggle aria-controls="app-navbar-nav" />
        </div>
        <Navbar.Collapse id="app-navbar-nav">
          <Nav className="me-auto">
            <Nav.Link as={NavLink} to="/rooms" eventKey="rooms">Rooms</Nav.Link>
            <Nav.Link as={NavLink} to="/people" eventKey="people">People</Nav.Link>
            <Nav.Link as={NavLink} to="/contacts" eventKey="contacts">Contacts</Nav.Link>
          </Nav>
          <Nav>
            <NavDropdown
              id="account-menu"
              align="end"
              title={
                <span className="d-inline-flex align-items-center gap-2">
                  <Avatar user={me} avatar={me.avatar} size={28} />
                  <span>{name}</span>
                </span>
              }
            >
              <NavDropdown.Item as={Link} to="/profile" eventKey="profile">Profile</NavDropdown.Item>
              <NavDropdown.Divider />
              <NavDropdown.Item as="button" onClick={() => void logout()}>Sign out</NavDropdown.Item>
            </NavDropdown>
          </Nav>
        </Navbar.Collapse>
      </Container>
    </Navbar>
  );
}
