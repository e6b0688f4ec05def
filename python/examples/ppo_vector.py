#!/usr/bin/env python3
"""PPO on Townlet through VectorEnv, CleanRL style: one shared policy, every agent a row of the batch.

    python3 python/examples/ppo_vector.py [--total-updates 200] [--config configs/default.yaml] ...
    python3 python/examples/ppo_vector.py --towns 8 --ray-actors 2 [--ray-address HOST:6379]   # over Ray

Needs torch and numpy (and node with a Townlet checkout: the env runs the engine as a child).
Run from a checkout, this file finds the townlet_env package in python/; elsewhere pip install it.

Rows change during a rollout (agents leave, replacements join), so the storage holds up to
`rows` rows per tick and `nxt[t, i]`, the row that row i of tick t became at tick t + 1 (the live
rows keep their order: VectorEnv's row contract). The engine reads an agent's action only when
the agent may choose (its option ended or its commitment window passed): those rows (`taken`)
carry the policy loss; every live row carries the value loss. Prints one line per update, and the
mean return per agent when an episode ends (an episode = max_cycles ticks from tick 0).
"""
from __future__ import annotations

import argparse
import inspect
import re
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
from townlet_env import RayVectorEnv, VectorEnv  # noqa: E402


@dataclass
class Args:
    config: str = "configs/default.yaml"  # Townlet config, relative to the checkout (or absolute)
    towns: int = 0  # world.towns override (more towns: more agents per batch); 0 = the config's
    max_cycles: int = 512  # ticks per episode; then every agent is truncated and the env resets
    seed: int = 1  # seed of the first episode (each reset takes the next) and of torch
    total_updates: int = 100  # PPO updates; each collects num_steps ticks of every agent first
    num_steps: int = 128  # ticks per rollout
    learning_rate: float = 3e-4  # Adam step size, annealed linearly to 0
    gamma: float = 0.99  # discount per tick
    gae_lambda: float = 0.95  # GAE lambda
    update_epochs: int = 4  # passes over the rollout per update
    num_minibatches: int = 4  # minibatches per pass
    clip_coef: float = 0.2  # PPO ratio clip
    ent_coef: float = 0.01  # entropy bonus weight
    vf_coef: float = 0.5  # value loss weight
    max_grad_norm: float = 0.5  # global gradient-norm clip
    hidden: int = 128  # units per hidden layer
    threads: int = 1  # torch CPU threads
    ray_actors: int = 0  # > 0: RayVectorEnv with this many Ray actors (one engine each, towns split over them); 0 = VectorEnv
    ray_address: str = ""  # Ray cluster to join (e.g. 10.0.0.1:6379, or auto); "" = $RAY_ADDRESS or a new local cluster
    workers_per_actor: int = 1  # the engine's --workers in each actor (worker threads; needs an engine that has the flag)


def parse_args() -> Args:
    """Every field of Args is a --flag; its help is the comment on its line."""
    helps = dict(re.findall(r"^\s+(\w+): \w+ = .*?#\s*(.*)$", inspect.getsource(Args), re.M))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in fields(Args):
        p.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default, help=helps.get(f.name))
    return Args(**vars(p.parse_args()))


class Agent(nn.Module):
    """An MLP over the flat observation (features, then the map), a policy head and a value head."""

    def __init__(self, obs_size: int, actions: int, hidden: int):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(obs_size, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh())
        self.pi = nn.Linear(hidden, actions)
        self.vf = nn.Linear(hidden, 1)
        nn.init.orthogonal_(self.pi.weight, 0.01)  # near-uniform first policy (CleanRL's init)
        nn.init.zeros_(self.pi.bias)

    def value(self, obs):
        return self.vf(self.body(obs)).squeeze(-1)

    def act(self, obs, mask, action=None):
        """(action, log-prob, entropy, value); forbidden actions get a logit of -1e9."""
        h = self.body(obs)
        logits = self.pi(h).masked_fill(~mask, -1e9)
        dist = torch.distributions.Categorical(logits=logits)
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.vf(h).squeeze(-1)


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    config = Path(args.config) if Path(args.config).is_absolute() else ROOT / args.config
    overrides = {"world.towns": args.towns} if args.towns else None
    if args.ray_actors > 0:
        # Same rows and arrays as VectorEnv; every step goes to all actors at once (docs/python.md).
        import ray

        ray.init(address=args.ray_address or None, include_dashboard=False, logging_level="ERROR")
        env = RayVectorEnv(config=str(config), actors=args.ray_actors, overrides=overrides, max_cycles=args.max_cycles, workers_per_actor=args.workers_per_actor)
    else:
        env = VectorEnv(config=str(config), overrides=overrides, max_cycles=args.max_cycles)
    D, A = env.observation_size, env.action_count
    agent = Agent(D, A, args.hidden)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)
    r = env.reset(seed=args.seed)
    print(f"townlet {env.config_id}: {len(r.ids)} agents, obs {D}, actions {A}, transport {env.transport}", flush=True)

    # Storage: T = num_steps ticks, R = rows (grown when more agents are live than ever before).
    T, R = args.num_steps, 2 * len(r.ids)

    def storage(rows: int) -> dict:
        return dict(
            obs=torch.zeros(T, rows, D),  # observation of row i at tick t
            mask=torch.zeros(T, rows, A, dtype=torch.bool),  # its action mask
            action=torch.zeros(T, rows, dtype=torch.long),
            logp=torch.zeros(T, rows),  # log-prob of the action under the rollout policy
            value=torch.zeros(T, rows),
            reward=torch.zeros(T, rows),  # reward of the step from t to t + 1
            done=torch.zeros(T, rows),  # 1 = the agent terminated or was truncated in that step
            live=torch.zeros(T, rows, dtype=torch.bool),  # the row acted at t (not done before)
            taken=torch.zeros(T, rows, dtype=torch.bool),  # the engine read its action
            nxt=torch.zeros(T, rows, dtype=torch.long),  # its row at t + 1 (0 where not live)
        )

    buf = storage(R)
    ret = np.zeros(len(r.ids))  # return so far of each row's agent in this episode
    finished: list = []  # returns of this episode's agents that are done (exits, then truncation)
    episode_returns: list = []  # mean return per agent, one entry per finished episode
    global_ticks = 0

    for update in range(1, args.total_updates + 1):
        t_start = time.time()
        for group in optimizer.param_groups:
            group["lr"] = args.learning_rate * (1.0 - (update - 1.0) / args.total_updates)

        # ---- Rollout: num_steps ticks of every agent ------------------------------------------
        agent_steps, episodes_before = 0, len(episode_returns)
        for t in range(T):
            n = len(r.ids)
            if n > R:  # more rows than ever: a larger storage (rare; keeps the earlier ticks)
                grown = storage(2 * n)
                for k in buf:
                    grown[k][:, :R] = buf[k]
                buf, R = grown, 2 * n
            s = {k: v[t] for k, v in buf.items()}  # tick t of every storage tensor
            np.copyto(s["obs"][:n].numpy(), r.obs)  # the one copy of the observations
            np.copyto(s["mask"][:n].numpy(), r.masks.view(np.bool_))
            live = ~(r.terminated | r.truncated)  # rows done in r only report; they do not act
            with torch.no_grad():
                action, logp, _, value = agent.act(s["obs"][:n], s["mask"][:n])
            nr = env.step(action.numpy().astype(np.int32))
            # The live rows of r are the first L rows of nr, in order (VectorEnv's row contract).
            L, lv = int(live.sum()), torch.from_numpy(live)
            s["action"][:n], s["logp"][:n], s["value"][:n] = action, logp, value
            s["live"][:n], s["live"][n:] = lv, False
            s["nxt"][:n][lv] = torch.arange(L)
            s["reward"][:n][lv] = torch.tensor(nr.rewards[:L])
            s["done"][:n][lv] = torch.tensor((nr.terminated | nr.truncated)[:L], dtype=torch.float32)
            s["taken"][:n][lv] = torch.tensor(nr.extra["taken"][:L], dtype=torch.bool)
            # Episode returns: carried along the rows, collected when the agent is done.
            ret_next = np.zeros(len(nr.ids))
            ret_next[:L] = ret[live] + nr.rewards[:L]
            finished.extend(ret_next[nr.terminated | nr.truncated].tolist())
            ret, r = ret_next, nr
            agent_steps += L
            if env.done:  # every agent truncated at max_cycles (done = 1 above: nothing flows across)
                episode_returns.append(float(np.mean(finished)))
                finished = []
                r = env.reset()
                ret = np.zeros(len(r.ids))
        global_ticks += T

        # ---- GAE (Schulman et al. 2016, eq. 16) over ticks, following each agent's rows --------
        # Truncation counts as termination (no bootstrap from the final observation), as CleanRL.
        with torch.no_grad():
            next_value = torch.zeros(R)
            n = len(r.ids)
            next_value[:n] = agent.value(torch.tensor(r.obs))
            adv = torch.zeros(T, R)
            last_gae = torch.zeros(R)  # advantages of the rows of tick t + 1
            for t in reversed(range(T)):
                j = buf["nxt"][t]
                nonterminal = 1.0 - buf["done"][t]
                delta = buf["reward"][t] + args.gamma * next_value[j] * nonterminal - buf["value"][t]
                adv[t] = (delta + args.gamma * args.gae_lambda * nonterminal * last_gae[j]) * buf["live"][t]
                last_gae, next_value = adv[t], buf["value"][t]
            returns = adv + buf["value"]

        # ---- PPO update (Schulman et al. 2017, eq. 7 and 9) over live rows ---------------------
        live_idx = buf["live"].reshape(-1).nonzero().squeeze(-1)
        flat = {k: v.reshape(T * R, *v.shape[2:])[live_idx] for k, v in buf.items()}
        b_adv, b_ret = adv.reshape(-1)[live_idx], returns.reshape(-1)[live_idx]
        taken = flat["taken"]
        stats = []
        for _ in range(args.update_epochs):
            perm = torch.randperm(len(live_idx))
            for mb in perm.chunk(args.num_minibatches):
                _, newlogp, entropy, newvalue = agent.act(flat["obs"][mb], flat["mask"][mb], flat["action"][mb])
                sel = taken[mb]  # the policy loss only where the action was read
                value_loss = 0.5 * ((newvalue - b_ret[mb]) ** 2).mean()
                if sel.any():
                    a = b_adv[mb][sel]
                    a = (a - a.mean()) / (a.std(unbiased=False) + 1e-8)
                    logratio = newlogp[sel] - flat["logp"][mb][sel]
                    ratio = logratio.exp()
                    pg_loss = torch.max(-a * ratio, -a * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
                    ent = entropy[sel].mean()
                    with torch.no_grad():
                        approx_kl = ((ratio - 1) - logratio).mean().item()  # http://joschu.net/blog/kl-approx.html
                        clipfrac = ((ratio - 1).abs() > args.clip_coef).float().mean().item()
                else:
                    pg_loss, ent, approx_kl, clipfrac = torch.zeros(()), torch.zeros(()), 0.0, 0.0
                loss = pg_loss - args.ent_coef * ent + args.vf_coef * value_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()
                stats.append((pg_loss.item(), value_loss.item(), ent.item(), approx_kl, clipfrac))

        pg, vl, ent, kl, cf = np.mean(stats, axis=0)
        line = (
            f"update {update:4d}  ticks {global_ticks:7d}  reward/agent-tick {float(flat['reward'].mean()):+.4f}  "
            f"decisions {int(taken.sum()):5d}  pg {pg:+.4f}  v {vl:.4f}  entropy {ent:.3f}  kl {kl:.4f}  clip {cf:.3f}  "
            f"{agent_steps / (time.time() - t_start):,.0f} agent-steps/s"
        )
        for k in range(episodes_before, len(episode_returns)):
            line += f"  | episode {k + 1}: return/agent {episode_returns[k]:+.3f}"
        print(line, flush=True)
    env.close()


if __name__ == "__main__":
    main()
