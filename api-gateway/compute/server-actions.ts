// POST /servers/{id}/action (os-start, os-stop, reboot, os-getConsoleOutput, add/removeSecurityGroup, lock,
// unlock, os-resetState) and
// os-volume_attachments (record-level: the server record's `volumes_attached`). State checks follow Nova's
// (409 "Cannot 'start' instance X while it is in vm_state active"); the owner converges from `desired`.
import type { FastifyPluginAsync } from "fastify";
import { requireAuth } from "../auth/plugin.ts";
import type { AuthContext } from "../auth/plugin.ts";
import { canAccessProject, isAdmin, requireAdmin, requireRole } from "../auth/policy.ts";
import { ConflictError, InvalidRequestError, ItemNotFoundError, PolicyForbiddenError } from "../errors.ts";
import { bodyObject } from "../identity/http.ts";
import { isoMicro } from "../identity/model.ts";
import type { CatalogRecord } from "../store.ts";
import { serverBackend } from "./server-backend.ts";
import { findServer, type ServerRouteOptions } from "./servers.ts";
import { SERVER } from "./server-view.ts";
import { atLeast } from "./microversion.ts";
import { refuseIfLocked } from "./server-lock.ts";
import { recordAction } from "./instance-action-log.ts";

/** The caller is a member of the server's project (an admin locking someone else's server is "admin"). */
const canAccessOwn = (a: AuthContext, s: CatalogRecord) => a.project?.id === s.project_id;
import { reserveVolume, unreserveVolume } from "../volume/attach.ts";

type Obj = Record<string, unknown>;

const vmState = (s: CatalogRecord) => (typeof s.vm_state === "string" ? s.vm_state : s.status === "ERROR" ? "error" : "building");

/** No console proxy runs here: the guest's serial log is what a user can read. */
const noConsole = (type: string) => new InvalidRequestError(`Unavailable console type ${type}. peerstack runs no console proxy; read the guest's serial console with 'openstack console log show <server>'.`);

/** Actions a lock does not stop (reading the console, the lock itself). */
const UNLOCKED_ACTIONS = new Set(["os-getConsoleOutput", "os-getVNCConsole", "os-getSPICEConsole", "os-getSerialConsole", "os-getRDPConsole", "lock", "unlock"]);

function allow(s: CatalogRecord, action: string, states: string[]): void {
  const vm = vmState(s);
  if (s.desired === "deleted") throw new ConflictError(`Cannot '${action}' instance ${s.id} while it is in task_state deleting`);
  if (!states.includes(vm)) throw new ConflictError(`Cannot '${action}' instance ${s.id} while it is in vm_state ${vm}`);
}

export const serverActionRoutes: FastifyPluginAsync<ServerRouteOptions> = async (app, { ctx, servers }) => {
  const now = () => isoMicro(ctx.clock.now());

  app.post<{ Params: { id: string } }>("/servers/:id/action", async (req, reply) => {
    const a = requireAuth(req);
    const s = findServer(ctx, a, req.params.id);
    requireRole(a, "member", "os_compute_api:servers:action");
    const body = (req.body ?? {}) as Obj;
    const [action] = Object.keys(body);
    if (!action) throw new InvalidRequestError("Malformed request body: no action");
    const arg = (body[action] ?? {}) as Obj;
    if (!UNLOCKED_ACTIONS.has(action)) refuseIfLocked(a, s);
    switch (action) {
      case "lock": {
        const reason = arg.locked_reason;
        if (reason !== undefined && (!atLeast(req, 73) || typeof reason !== "string" || reason.length > 255)) throw new InvalidRequestError("Invalid input for field/attribute lock.");
        await recordAction(ctx, reply, a, s, "lock");
        await ctx.store.put(SERVER, s.id, { locked: true, locked_by: isAdmin(a) && !canAccessOwn(a, s) ? "admin" : "owner", locked_reason: typeof reason === "string" ? reason : null, updated_at: now() });
        return reply.code(202).send();
      }
      case "unlock":
        // The owner may not lift an admin's lock (Nova's os_compute_api:os-lock-server:unlock:unlock_override).
        if (s.locked === true && s.locked_by === "admin" && !isAdmin(a)) throw new PolicyForbiddenError("os_compute_api:os-lock-server:unlock:unlock_override");
        await recordAction(ctx, reply, a, s, "unlock");
        await ctx.store.put(SERVER, s.id, { locked: false, locked_by: null, locked_reason: null, updated_at: now() });
        return reply.code(202).send();
      case "os-resetState": {
        requireAdmin(a, "os_compute_api:os-admin-actions:reset_state");
        const state = arg.state;
        if (state !== "error" && state !== "active") throw new InvalidRequestError("Invalid input for field/attribute state. Value: must be 'error' or 'active'.");
        // The record's state only, as Nova's "DB state" reset; the owner host converges from there.
        await ctx.store.put(SERVER, s.id, state === "error" ? { status: "ERROR", vm_state: "error", task_state: null, updated_at: now() } : { status: "ACTIVE", vm_state: "active", task_state: null, fault: null, updated_at: now() });
        return reply.code(202).send();
      }
      case "os-start":
        allow(s, "start", ["stopped"]);
        await recordAction(ctx, reply, a, s, "start");
        await ctx.store.put(SERVER, s.id, { desired: "active", updated_at: now() });
        return reply.code(202).send();
      case "os-stop":
        allow(s, "stop", ["active", "error"]);
        await recordAction(ctx, reply, a, s, "stop");
        await ctx.store.put(SERVER, s.id, { desired: "stopped", updated_at: now() });
        return reply.code(202).send();
      case "reboot": {
        const type = String(arg.type ?? "").toUpperCase();
        if (type !== "SOFT" && type !== "HARD") throw new InvalidRequestError("Invalid input for field/attribute type. Value: must be SOFT or HARD");
        allow(s, "reboot", type === "SOFT" ? ["active"] : ["active", "stopped", "error"]);
        const fields: Obj = { reboot_seq: (Number(s.reboot_seq) || 0) + 1, reboot_type: type, updated_at: now() };
        if (vmState(s) === "stopped") fields.desired = "active"; // Nova's hard reboot of a stopped server starts it
        await recordAction(ctx, reply, a, s, "reboot");
        await ctx.store.put(SERVER, s.id, fields);
        return reply.code(202).send();
      }
      case "os-getConsoleOutput": {
        allow(s, "get_console_output", ["active", "stopped", "error"]);
        const length = arg.length === undefined || arg.length === null ? undefined : Number(arg.length);
        if (length !== undefined && (!Number.isInteger(length) || length < -1)) throw new InvalidRequestError("Invalid input for field/attribute length.");
        const be = serverBackend(ctx.node.id, servers);
        if (typeof s.host !== "string" || !be?.consoleOutput) throw new ConflictError(`The console log of instance ${s.id} is on host ${String(s.host)}; this node has no console facility to read or forward it.`);
        const out = await be.consoleOutput({ id: s.id, host: s.host }, length === -1 ? undefined : length);
        return { output: out };
      }
      case "addSecurityGroup":
      case "removeSecurityGroup": {
        const name = String(arg.name ?? "");
        const g = ctx.store.list("security_group", (r) => r.project_id === s.project_id && (r.name === name || r.id === name))[0];
        if (!g) throw new ItemNotFoundError("security_group", name, `Security group ${name} not found for project ${String(s.project_id)}.`);
        const names = new Set((s.security_groups as string[] | undefined) ?? []);
        if (action === "addSecurityGroup") names.add(String(g.name));
        else if (!names.delete(String(g.name))) throw new InvalidRequestError(`Security group ${name} not associated with the instance ${s.id}`);
        for (const pid of (s.ports as string[] | undefined) ?? []) {
          const p = ctx.store.get("port", pid);
          if (!p) continue;
          const ids = new Set((p.security_groups as string[] | undefined) ?? []);
          if (action === "addSecurityGroup") ids.add(g.id);
          else ids.delete(g.id);
          await ctx.store.put("port", pid, { security_groups: [...ids] });
        }
        await ctx.store.put(SERVER, s.id, { security_groups: [...names], updated_at: now() });
        return reply.code(202).send();
      }
      case "os-getVNCConsole":
      case "os-getSPICEConsole":
      case "os-getSerialConsole":
      case "os-getRDPConsole":
        throw noConsole(String(arg.type ?? "novnc"));
      default:
        throw new InvalidRequestError(`There is no such action: ${action}`);
    }
  });

  // Consoles (2.6+): Nova answers this for a console type its deployment does not run.
  app.post<{ Params: { id: string } }>("/servers/:id/remote-consoles", async (req) => {
    findServer(ctx, requireAuth(req), req.params.id);
    const rc = ((req.body ?? {}) as Obj).remote_console as Obj | undefined;
    throw noConsole(String(rc?.type ?? rc?.protocol ?? "novnc"));
  });

  type Attachment = { id: string; volumeId: string; serverId: string; device: string };
  const attachments = (s: CatalogRecord) => ((s.volumes_attached as Attachment[] | undefined) ?? []).map((x) => ({ ...x, id: x.volumeId, serverId: s.id }));

  app.get<{ Params: { id: string } }>("/servers/:id/os-volume_attachments", async (req) => ({ volumeAttachments: attachments(findServer(ctx, requireAuth(req), req.params.id)) }));

  app.get<{ Params: { id: string; vol: string } }>("/servers/:id/os-volume_attachments/:vol", async (req) => {
    const s = findServer(ctx, requireAuth(req), req.params.id);
    const v = attachments(s).find((x) => x.volumeId === req.params.vol);
    if (!v) throw new ItemNotFoundError("volume_attachment", req.params.vol, `Volume ${req.params.vol} is not attached to instance ${s.id}`);
    return { volumeAttachment: v };
  });

  app.post<{ Params: { id: string } }>("/servers/:id/os-volume_attachments", async (req, reply) => {
    const a = requireAuth(req);
    const s = findServer(ctx, a, req.params.id);
    requireRole(a, "member", "os_compute_api:os-volumes-attachments:create");
    refuseIfLocked(a, s);
    const b = bodyObject(req, "volumeAttachment");
    const volumeId = typeof b.volumeId === "string" ? b.volumeId : "";
    if (!volumeId) throw new InvalidRequestError("Invalid input for field/attribute volumeId.");
    const vol = ctx.store.get("volume", volumeId);
    if (vol && !canAccessProject(a, String(vol.project_id))) throw new ItemNotFoundError("volume", volumeId, `Volume ${volumeId} could not be found.`);
    allow(s, "attach_volume", ["active", "stopped"]);
    const list = attachments(s);
    if (list.some((x) => x.volumeId === volumeId)) throw new ConflictError(`Volume ${volumeId} is already attached to instance ${s.id}`);
    const inUse = ctx.store.list(SERVER, (o) => o.id !== s.id && attachments(o).some((x) => x.volumeId === volumeId));
    if (inUse.length) throw new ConflictError(`Volume ${volumeId} is attached to another instance`);
    await reserveVolume(ctx, a, s, volumeId); // volume side: exists, available, on the server's host (api-gateway/volume/attach.ts)
    const device = typeof b.device === "string" && b.device ? b.device : `/dev/vd${String.fromCharCode(98 + list.length)}`;
    const att = { id: volumeId, volumeId, serverId: s.id, device };
    await recordAction(ctx, reply, a, s, "attach_volume");
    await ctx.store.put(SERVER, s.id, { volumes_attached: [...list, att], updated_at: now() });
    return { volumeAttachment: att };
  });

  app.delete<{ Params: { id: string; vol: string } }>("/servers/:id/os-volume_attachments/:vol", async (req, reply) => {
    const a = requireAuth(req);
    const s = findServer(ctx, a, req.params.id);
    requireRole(a, "member", "os_compute_api:os-volumes-attachments:delete");
    refuseIfLocked(a, s);
    const list = attachments(s);
    if (!list.some((x) => x.volumeId === req.params.vol)) throw new ItemNotFoundError("volume_attachment", req.params.vol, `Volume ${req.params.vol} is not attached to instance ${s.id}`);
    await unreserveVolume(ctx, req.params.vol);
    await recordAction(ctx, reply, a, s, "detach_volume");
    await ctx.store.put(SERVER, s.id, { volumes_attached: list.filter((x) => x.volumeId !== req.params.vol), updated_at: now() });
    return reply.code(202).send();
  });
};
