import type { ReactNode } from "react";
import { BrowserRouter, Navigate, Outlet, Route, Routes, useLocation } from "react-router-dom";
import Spinner from "react-bootstrap/Spinner";
import { useSession } from "./auth/session";
import { AppNavbar } from "./components/AppNavbar";
import { ConnectionBanner } from "./components/ConnectionBanner";
import { Sidebar } from "./components/Sidebar";
import { BrowseRoomsPage } from "./pages/BrowseRoomsPage";
import { ContactsPage } from "./pages/ContactsPage";
import { ForgotPasswordPage } from "./pages/ForgotPasswordPage";
import { HomePage } from "./pages/HomePage";
import { LoginPage } from "./pages/LoginPage";
import { NotificationsPage } from "./pages/NotificationsPage";
import { PeoplePage } from "./pages/PeoplePage";
import { ProfilePage } from "./pages/ProfilePage";
import { RegisterPage } from "./pages/RegisterPage";
import { ResetPasswordPage } from "./pages/ResetPasswordPage";
import { RoomPage } from "./pages/RoomPage";
import { UserPage } from "./pages/UserPage";

export function App() {
  return (
    <BrowserRouter>
      <Routes>
        <Route path="/login" element={<SignedOutOnly><LoginPage /></SignedOutOnly>} />
        <Route path="/register" element={<SignedOutOnly><RegisterPage /></SignedOutOnly>} />
        <Route path="/forgot-password" element={<ForgotPasswordPage />} />
        <Route path="/reset-password" element={<ResetPasswordPage />} />
        <Route element={<SignedIn><Shell /></SignedIn>}>
          <Route index element={<HomePage />} />
          <Route path="rooms" element={<BrowseRoomsPage />} />
          <Route path="rooms/:roomId" element={<RoomPage />} />
          <Route path="people" element={<PeoplePage />} />
          <Route path="contacts" element={<ContactsPage />} />
          <Route path="notifications" element={<NotificationsPage />} />
          <Route path="profile" element={<ProfilePage />} />
          <Route path="users/:userId" element={<UserPage />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Route>
      </Routes>
    </BrowserRouter>
  );
}

/** The signed-in application: navigation bar, connection state, conversations, the page. */
function Shell() {
  return (
    <div className="app-shell">
      <a href="#main" className="visually-hidden-focusable">Skip to content</a>
      <AppNavbar />
      <ConnectionBanner />
      <div className="app-body">
        <Sidebar />
        <main id="main" className="app-main">
          <Outlet />
        </main>
      </div>
    </div>
  );
}

function Loading() {
  return (
    <div className="d-flex h-100 align-items-center justify-content-center">
      <Spinner animation="border" role="status">
        <span className="visually-hidden">Loading…</span>
      </Spinner>
    </div>
  );
}

/** Its children when signed in; otherwise the login page, which comes back here after. */
function SignedIn({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (session.status === "loading") return <Loading />;
  if (session.status === "signed-out") {
    return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  }
  return children;
}

/** Its children when signed out; the application once signed in. */
function SignedOutOnly({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (session.status === "loading") return <Loading />;
  if (session.status === "signed-in") {
    const from = (location.state as { from?: string } | null)?.from;
    return <Navigate to={from ?? "/"} replace />;
  }
  return children;
}
