"""SimPy's M/M/1 on mm1.toml's parameters (Poisson 80/s, exponential 10 ms, one server).

Run by `cargo bench --bench engine` when python3 has simpy; prints its own ns per finished
request (simulation call only, as the Rust side measures), nothing else.
"""
import random
import sys
import time

import simpy

RATE, SERVICE = 80.0, 0.010


def main(requests):
    rng = random.Random(1)
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=1)
    done = [0, 0.0]

    def job(env):
        t = env.now
        with server.request() as req:
            yield req
            yield env.timeout(rng.expovariate(1.0 / SERVICE))
        done[0] += 1
        done[1] += env.now - t

    def source(env):
        while True:
            yield env.timeout(rng.expovariate(RATE))
            env.process(job(env))

    env.process(source(env))
    start = time.perf_counter()
    env.run(until=requests / RATE)
    wall = time.perf_counter() - start
    print(wall * 1e9 / max(done[0], 1))


if __name__ == "__main__":
    main(int(sys.argv[1]))
