import { describe, expect, it } from "vitest";
import { PhiAccrual } from "./phi.ts";

describe("PhiAccrual", () => {
  it("stays low while heartbeats arrive on time and rises with silence", () => {
    const d = new PhiAccrual({ minStdMs: 100, pauseMs: 500 });
    for (let t = 0; t <= 10_000; t += 1000) d.heartbeat(t);
    expect(d.phi(10_500)).toBeLessThan(1);
    expect(d.phi(12_000)).toBeGreaterThan(1);
    expect(d.phi(13_000)).toBeGreaterThan(8);
    expect(d.phi(20_000)).toBeGreaterThan(d.phi(13_000));
  });

  it("tolerates more silence from an irregular sender", () => {
    const regular = new PhiAccrual({ minStdMs: 50, pauseMs: 0 });
    const jittery = new PhiAccrual({ minStdMs: 50, pauseMs: 0 });
    let t = 0;
    for (let i = 0; i < 50; i++) {
      regular.heartbeat(i * 1000);
      t += i % 2 === 0 ? 400 : 1600;
      jittery.heartbeat(t);
    }
    expect(jittery.phi(t + 2500)).toBeLessThan(regular.phi(49_000 + 2500));
  });

  it("is zero before the first heartbeat", () => {
    expect(new PhiAccrual().phi(5000)).toBe(0);
  });

  it("resume() ends an outage without recording it as an interval", () => {
    const time = (resumeAfterOutage: boolean) => {
      const d = new PhiAccrual();
      let t = 0;
      for (let i = 0; i < 20; i++) d.heartbeat((t += 1000));
      t += 20_000; // outage
      if (resumeAfterOutage) d.resume(t);
      else d.heartbeat(t);
      for (let i = 0; i < 5; i++) d.heartbeat((t += 1000));
      let silent = 0;
      while (d.phi(t + silent) < 3) silent += 100;
      return silent;
    };
    expect(time(true)).toBeLessThan(3000);
    expect(time(false)).toBeGreaterThan(time(true) + 2000);
  });
});
