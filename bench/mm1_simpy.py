"""The M/M/1 queue of sims/mm1.lua in SimPy 2 (Debian python3-simpy, module
SimPy), written as SimPy's own examples write it: a source process that
activates a customer process per arrival, and a one-server Resource that
each customer requests, holds for its service time and releases. Same
rates (lambda = 1/s, mu = 2/s: rho = 0.5), same virtual duration; Python's
random stream, so the figures agree with mastersim's statistically, not
exactly.

Prints one line: customers served, mean time in system (s), the wall
seconds of the simulation (Simulation.simulate only) and of the whole
script. Run: python3 bench/mm1_simpy.py [duration_s] [seed]
"""
import random
import sys
import time

T0 = time.monotonic()

from SimPy.Simulation import Process, Resource, Simulation, hold, release, request  # noqa: E402

LAMBDA, MU = 1.0, 2.0


class Stats:
    served = 0
    total = 0.0


class Customer(Process):
    def visit(self, server, stats):
        arrived = self.sim.now()
        yield request, self, server
        yield hold, self, random.expovariate(MU)
        yield release, self, server
        stats.served += 1
        stats.total += self.sim.now() - arrived


class Source(Process):
    def generate(self, server, stats):
        while True:
            yield hold, self, random.expovariate(LAMBDA)
            c = Customer(sim=self.sim)
            self.sim.activate(c, c.visit(server, stats))


def main():
    duration = float(sys.argv[1]) if len(sys.argv) > 1 else 1e6
    random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    sim = Simulation()
    sim.initialize()
    server = Resource(capacity=1, sim=sim)
    stats = Stats()
    src = Source(sim=sim)
    sim.activate(src, src.generate(server, stats))
    t = time.monotonic()
    sim.simulate(until=duration)
    run = time.monotonic() - t
    mean = stats.total / stats.served if stats.served else 0.0
    print("simpy served %d mean_s %.6f run_s %.3f total_s %.3f"
          % (stats.served, mean, run, time.monotonic() - T0))


main()
