export function AppNavbar() {
  return null;
}
