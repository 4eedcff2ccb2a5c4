import { describe, expect, it } from "vitest";
import { startupProblem } from "./startup-error.ts";

const flags = { listen: ["/ip4/0.0.0.0/tcp/8775"], http: "127.0.0.1:8774" };

describe("startup problems", () => {
  it("names the taken port and the flag that moves it", () => {
    const p2p = new Error("Some configured addresses failed to be listened on...\n\n  /ip4/0.0.0.0/tcp/8775: Error: listen EADDRINUSE: address already in use 0.0.0.0:8775\n    at x");
    expect(startupProblem(p2p, flags)).toBe("cannot start: the p2p address /ip4/0.0.0.0/tcp/8775 is already in use (another peerstack node on this machine?); give this one another with --listen /ip4/0.0.0.0/tcp/PORT");
    const http = Object.assign(new Error("listen EADDRINUSE: address already in use 127.0.0.1:8774"), { code: "EADDRINUSE" });
    expect(startupProblem(http, flags)).toContain("the API address 127.0.0.1:8774 is already in use");
    expect(startupProblem(http, flags)).toContain("--http HOST:PORT");
  });
  it("keeps the first line of anything else", () => {
    expect(startupProblem(new Error("cluster key unreadable\n  at y"), flags)).toBe("cannot start: cluster key unreadable");
  });
});
