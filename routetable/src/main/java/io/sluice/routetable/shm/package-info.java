/**
 * The route table in shared memory: {@link io.sluice.routetable.shm.RouteTableImage} (the binary form of one table),
 * {@link io.sluice.routetable.shm.RouteTableFileDescriptor} (the file that holds two of them),
 * {@link io.sluice.routetable.shm.RouteTableFileWriter} (the agent's side) and
 * {@link io.sluice.routetable.shm.RouteTableFileReader} (the data plane's side). See the module's README.md.
 */
package io.sluice.routetable.shm;
