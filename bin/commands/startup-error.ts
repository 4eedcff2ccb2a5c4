// What a user reads when `peerstack node` cannot start: one plain line on stderr instead of a stack in
// a JSON log. A port already taken (another agent on this machine, the lab's or a test's) is the common
// case and says which flag moves it.
const IN_USE = /EADDRINUSE: address already in use (\S+)/;

export function startupProblem(err: unknown, flags: { listen: string[]; http: string }): string {
  const message = err instanceof Error ? err.message : String(err);
  const inUse = IN_USE.exec(message);
  if (inUse) {
    const addr = inUse[1]!;
    const port = addr.slice(addr.lastIndexOf(":") + 1);
    const isHttp = flags.http.endsWith(`:${port}`);
    const which = isHttp ? `the API address ${flags.http}` : `the p2p address ${flags.listen.find((l) => l.endsWith(`/tcp/${port}`)) ?? addr}`;
    const move = isHttp ? "--http HOST:PORT" : "--listen /ip4/0.0.0.0/tcp/PORT";
    return `cannot start: ${which} is already in use (another peerstack node on this machine?); give this one another with ${move}`;
  }
  return `cannot start: ${message.split("\n")[0]}`;
}
