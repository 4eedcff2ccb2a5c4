// The network driver: what a host agent asks of its host's L2 plumbing for tenant networks.
// Every call is idempotent (the reconciler retries after crashes) and converges the host to the
// requested state; multi-step changes roll back on failure.

export interface NetworkSpec {
  networkId: string;
  /** VXLAN network identifier (protocol/vni.ts derives it from the network id). */
  vni: number;
  /** The underlay interface the VXLAN packets leave through. */
  underlayDev: string;
  /** This host's VTEP address on the underlay. */
  localIp: string;
  /** Tenant MTU; defaults to the underlay MTU − 50 (VXLAN over IPv4 overhead). */
  mtu?: number;
}

export interface NetworkState {
  networkId: string;
  vni: number;
  bridge: string;
  vxlan: string;
  mtu: number;
}

export interface PortSpec {
  portId: string;
  networkId: string;
  /** The guest NIC's MAC (the tap itself gets the same MAC with the first octet 0xfe, as libvirt does). */
  mac: string;
  /** Interface name on the host (<= 15 chars). */
  tapName: string;
  /**
   * "tap" (default): a persistent tap the QEMU process opens (`-netdev tap,ifname=…,script=no`).
   * "existing": attach an interface that already exists (e.g. a veth to a test namespace).
   */
  kind?: "tap" | "existing";
  /** User the tap belongs to, when QEMU runs unprivileged (`ip tuntap add … user OWNER`). */
  owner?: string;
}

export interface PortState {
  portId: string;
  networkId: string;
  tapName: string;
  mac: string;
  bridge: string;
  mtu: number;
}

export interface DhcpLease {
  mac: string;
  ip: string;
  hostname: string;
}

export interface DhcpSpec {
  networkId: string;
  /** Subnet in CIDR form, e.g. 10.0.0.0/24. */
  cidr: string;
  /** This host's DHCP server address in the subnet (distinct per host; from its address block). */
  serverIp: string;
  gateway?: string;
  dnsServers?: string[];
  /** Static leases for this host's ports on the network; the server answers nobody else. */
  leases: DhcpLease[];
  leaseSeconds?: number;
}

/** A port on another host (from the replicated port bindings), for unicast FDB and ARP entries. */
export interface RemotePort {
  mac: string;
  /** IPv4 address the VXLAN device's ARP proxy answers for (optional). */
  ip?: string;
  /** Underlay address of the host the port is on. */
  vtep: string;
}

export interface NetworkDriver {
  ensureNetwork(spec: NetworkSpec): Promise<NetworkState>;
  deleteNetwork(networkId: string): Promise<void>;
  ensurePort(spec: PortSpec): Promise<PortState>;
  deletePort(portId: string): Promise<void>;
  /** Makes the flood list (all-zero FDB entries) of the network exactly `remoteVteps`. */
  syncFdb(networkId: string, remoteVteps: string[]): Promise<{ added: string[]; removed: string[] }>;
  /**
   * Full l2population: makes the network's unicast FDB entries (MAC → VTEP) and ARP-proxy entries
   * (IP → MAC) exactly those of `ports`, so known guests are reached without flooding (the ARP
   * entries are used when the driver runs with `arpProxy`).
   */
  syncRemotePorts(networkId: string, ports: RemotePort[]): Promise<{ added: string[]; removed: string[] }>;
  /** Starts or reloads the network's dnsmasq (static leases only, listening on the bridge only). */
  ensureDhcp(spec: DhcpSpec): Promise<void>;
  stopDhcp(networkId: string): Promise<void>;
  /** Networks this driver manages on the host (found from the devices, so it survives restarts). */
  listNetworks(): Promise<NetworkState[]>;
  listPorts(): Promise<PortState[]>;
  /** Removes every network, port and dnsmasq this driver created. */
  teardown(): Promise<void>;
}
