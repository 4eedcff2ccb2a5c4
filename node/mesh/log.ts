// The slice of a pino logger the mesh logic uses (tests pass a silent one).
export interface MeshLog {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const silentLog: MeshLog = { info: () => {}, warn: () => {}, debug: () => {} };
