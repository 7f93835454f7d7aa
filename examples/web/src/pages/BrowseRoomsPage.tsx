export function BrowseRoomsPage() {
  return <h1>BrowseRoomsPage</h1>;
}
