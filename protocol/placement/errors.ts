// Placement failures, with the stable codes the API gateway maps (Nova: 500 fault on the server).
import { PeerstackError } from "../errors.ts";

/** No host could take the server after every attempt (Nova's NoValidHost, same message). */
export class NoValidHostError extends PeerstackError {
  readonly serverId: string;
  readonly attempts: number;
  constructor(serverId: string, attempts: number, detail = "There are not enough hosts available.") {
    super("NO_VALID_HOST", `No valid host was found. ${detail}`);
    this.serverId = serverId;
    this.attempts = attempts;
  }
}
