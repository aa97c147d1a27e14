"""All I/O: sockets, the event loop, the transport that feeds the protocol cores, processes."""
