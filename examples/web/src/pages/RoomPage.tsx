export function RoomPage() {
  return <h1>RoomPage</h1>;
}
