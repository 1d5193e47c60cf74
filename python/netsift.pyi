"""netsift: protocol identification and flow records from Rust.

The same verdicts and records as the `netsift` command line.
"""

from os import PathLike
from typing import Iterator, List, Optional, TypedDict, Union

__version__: str

class Verdict(TypedDict):
    protocol: str
    """Protocol name in nDPI's spelling ("HTTP", "TLS", "SMBv23"), or "Unknown"."""
    app: Optional[str]
    """A more specific application ("HTTP2", a service), or None."""
    confidence: str
    """"dpi" when the bytes matched a protocol's structure, else "none"."""
    evidence: str
    """Why, in a few words ("" when Unknown)."""
    need_more: List[str]
    """Protocols that could decide with more bytes (the next packet or the other side's answer)."""

class PacketInfo(TypedDict):
    uid: str
    new_flow: bool
    protocol: str
    confidence: str

def identify(
    payload: bytes,
    port: int = 0,
    transport: str = "tcp",
    direction: str = "to_server",
) -> Verdict:
    """Name the protocol of one payload (a connection's first bytes), no state.

    transport: "tcp" or "udp". direction: "to_server" (the client's bytes) or
    "to_client" (a server's banner). port: the server's port; it only tells
    apart variants of one structure, never decides alone. At most 64 KiB are
    looked at. Raises ValueError on a bad transport or direction.
    """

class Engine:
    """Flow tracking with layered classification, fed frame by frame in packet time."""

    def __init__(self, layers: Optional[List[str]] = None) -> None:
        """layers: e.g. ["flow", "dpi", "port"]; None for the default. ValueError on an unknown layer."""
    def process(
        self,
        ts: float,
        frame: bytes,
        linktype: int = 1,
        orig_len: Optional[int] = None,
    ) -> Optional[PacketInfo]:
        """Feed one frame (ts: seconds since the epoch; linktype: pcap LINKTYPE, 1 = Ethernet).

        None when the frame belongs to no flow (not IP, held fragment, undecodable).
        """
    def flows(self) -> List[dict]:
        """Flows that ended since the last call (keys of `netsift flows --format jsonl`)."""
    def finish(self) -> List[dict]:
        """End every open flow and return all flows not yet returned."""
    @property
    def dropped_flows(self) -> int:
        """Ended flows dropped because more waited unread than the flow table holds (1,000,000)."""

class FlowReader(Iterator[dict]):
    def __iter__(self) -> "FlowReader": ...
    def __next__(self) -> dict: ...

def read_flows(
    path: Union[str, PathLike], layers: Optional[List[str]] = None, strict: bool = False
) -> FlowReader:
    """Iterate lazily over a capture's flows (pcap or pcapng, also gzip/zstd/xz/lz4
    compressed), each a dict with the keys of `netsift flows --format jsonl`.
    Damaged records are skipped as `netsift flows` skips them; with strict=True a
    damaged capture raises ValueError after the flows read so far. OSError if the
    file cannot be opened or is not a capture; ValueError for a pcap of a link type
    netsift does not decode."""
