"""A sweep on several hosts with JAX's own multi-process runtime (``jax.distributed``).

Start the same command once per host (process), changing only ``--process-id``; every process
computes its share of each chunk on its devices, gathers the chunk, and process 0 writes the
checkpoint (put it on a filesystem all hosts see). Killed and restarted with the same command, the
sweep resumes from the finished chunks.

On two hosts (coordinator host0 at 10.0.0.1)::

    host0$ python examples/multihost_sweep.py --coordinator 10.0.0.1:7777 --num-processes 2 --process-id 0 --checkpoint /shared/sweep
    host1$ python examples/multihost_sweep.py --coordinator 10.0.0.1:7777 --num-processes 2 --process-id 1 --checkpoint /shared/sweep

Trying it on one machine (CPU processes talk through gloo)::

    python examples/multihost_sweep.py --coordinator localhost:7777 --num-processes 2 --process-id 0 --checkpoint /tmp/sweep &
    python examples/multihost_sweep.py --coordinator localhost:7777 --num-processes 2 --process-id 1 --checkpoint /tmp/sweep
"""

import argparse

import jax


def main(argv=None):
    parser = argparse.ArgumentParser(description="Multi-host sweep of the decoupled BYOL modes (002 Eqs 11-13).")
    parser.add_argument("--coordinator", required=True, help="host:port of process 0")
    parser.add_argument("--num-processes", type=int, required=True)
    parser.add_argument("--process-id", type=int, required=True)
    parser.add_argument("--checkpoint", required=True, help="directory on a filesystem every host sees")
    parser.add_argument("--n-eta", type=int, default=64)
    parser.add_argument("--n-p0", type=int, default=64)
    parser.add_argument("--chunk-size", type=int, default=1024)
    args = parser.parse_args(argv)

    jax.config.update("jax_enable_x64", True)
    # CPU processes exchange the gathered chunks through gloo (GPUs use NCCL regardless of this).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=args.coordinator, num_processes=args.num_processes,
                               process_id=args.process_id)
    import numpy as np

    import ssl_odes

    grid = {"eta": np.linspace(0.0, 0.3, args.n_eta), "p0": np.linspace(0.01, 1.0, args.n_p0)}
    ds = ssl_odes.sweep(ssl_odes.simulate_byol_modes, grid, s0=0.05, simsiam=True, t1=500.0, num_points=2,
                        chunk_size=args.chunk_size, checkpoint=args.checkpoint, progress=args.process_id == 0)
    collapsed = int((ds["s"] < 1e-6).sum())
    print(f"process {jax.process_index()}/{jax.process_count()} on {len(jax.devices())} devices: "
          f"{ds['status'].size} trajectories, {collapsed} collapsed, checksum {float(ds['p'].sum()):.12g}", flush=True)
    return ds


if __name__ == "__main__":
    main()
