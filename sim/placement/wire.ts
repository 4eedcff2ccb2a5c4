// Messages of the stand-in placement protocol, msgpack-packed like every mesh message.
import { Packr } from "msgpackr";

const packr = new Packr({ useRecords: false, moreTypes: false });

export function pack(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function unpack<T>(data: Uint8Array): T {
  return packr.unpack(data) as T;
}

export const BID_PROTOCOL = "/peerstack/auction/bid/1";
export const AWARD_PROTOCOL = "/peerstack/auction/award/1";
export const RELEASE_PROTOCOL = "/peerstack/auction/release/1";
export const QUOTA_PROTOCOL = "/peerstack/quota/transfer/1";

/** Capacity adverts go on one topic per AZ: a front node places inside its AZ. */
export function capacityTopic(az: string): string {
  return `/peerstack/capacity/${az}/1`;
}
