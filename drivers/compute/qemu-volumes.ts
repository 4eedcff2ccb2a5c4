// Hot-plugging a volume into a running QEMU over QMP: blockdev-add (node named after the volume) then
// device_add virtio-blk-pci (serial = the volume id, as Nova sets it, so the guest can find the disk);
// unplug = device_del, wait for the guest to release it (DEVICE_DELETED), then blockdev-del. Each call is
// idempotent: it looks at what QEMU has before acting.
import { ComputeError, type VolumeDisk } from "./interface.ts";
import { QmpCommandError, type QmpClient } from "./qmp.ts";

/** QEMU node names and device ids are at most 31 characters: "vol" + the first 24 alphanumerics of the id. */
export function volumeNodeName(volumeId: string): string {
  return `vol${volumeId.replace(/[^A-Za-z0-9]/g, "").slice(0, 24)}`;
}

async function hasNode(q: QmpClient, name: string): Promise<boolean> {
  const nodes = await q.execute<{ "node-name": string }[]>("query-named-block-nodes");
  return nodes.some((n) => n["node-name"] === name);
}

async function hasDevice(q: QmpClient, name: string): Promise<boolean> {
  const list = await q.execute<{ name: string }[]>("qom-list", { path: "/machine/peripheral" });
  return list.some((d) => d.name === name);
}

/** Is the volume's device plugged in? */
export async function volumePlugged(q: QmpClient, volumeId: string): Promise<boolean> {
  return hasDevice(q, volumeNodeName(volumeId));
}

export async function plugVolume(q: QmpClient, serverId: string, disk: VolumeDisk): Promise<void> {
  const name = volumeNodeName(disk.volumeId);
  const what = `attaching volume "${disk.volumeId}" to server "${serverId}"`;
  try {
    if (!(await hasNode(q, name))) {
      await q.execute("blockdev-add", {
        "node-name": name,
        driver: disk.format,
        discard: "unmap",
        file: { driver: disk.path.startsWith("/dev/") ? "host_device" : "file", filename: disk.path },
      });
    }
    if (!(await hasDevice(q, name))) await q.execute("device_add", { driver: "virtio-blk-pci", id: name, drive: name, serial: disk.volumeId.slice(0, 20) });
  } catch (err) {
    throw new ComputeError(what, { cause: err });
  }
}

export async function unplugVolume(q: QmpClient, serverId: string, volumeId: string, timeoutMs: number): Promise<void> {
  const name = volumeNodeName(volumeId);
  const what = `detaching volume "${volumeId}" from server "${serverId}"`;
  try {
    if (await hasDevice(q, name)) {
      const gone = q.waitEvent("DEVICE_DELETED", { timeoutMs, filter: (e) => (e.data as { device?: string } | undefined)?.device === name });
      gone.catch(() => {});
      try {
        await q.execute("device_del", { id: name });
      } catch (err) {
        // a retry while an earlier unplug request is still pending: keep waiting for the guest
        if (!(err instanceof QmpCommandError && /unplug|in progress/i.test(err.message))) throw err;
      }
      try {
        await gone;
      } catch (err) {
        if (await hasDevice(q, name)) throw new Error(`the guest did not release the disk within ${timeoutMs} ms`, { cause: err });
      }
    }
    if (await hasNode(q, name)) await q.execute("blockdev-del", { "node-name": name });
  } catch (err) {
    throw new ComputeError(what, { cause: err });
  }
}
