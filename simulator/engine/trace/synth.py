"""Synthetic job traces drawn from the published statistics of the public GPU-cluster traces, so
tests and shipped scenarios need no download (``dcsim trace synth``). Deterministic from a seed.

Every number below names its source; the values, and how each was read, are in
benchmarks/reference/traces/stats.yaml (HELIOS_ART = S-Lab-System-Group/HeliosArtifact@bdaae10,
the SC'21 paper's own analysis artifact; PHILLY_REPO = msr-fiddle/philly-traces@29a1b87, the
ATC'19 paper's; PAI_REPO = alibaba/clusterdata@7a6c496, the NSDI'22 paper's). Nothing here is
fitted to the checks in benchmarks/.

- Arrivals: given the job count, independent draws from the rate's hour-of-day shape (the
  order statistics of a Poisson process conditioned on its count). ``helios``: GPU jobs
  submitted per clock hour, the four clusters summed (SC'21 Fig. 2b, vector PDF); ``philly``:
  the same shape (Jeon et al. publish no hourly submission curve); ``alibaba-pai``: median tasks
  submitted per hour (NSDI'22 Fig. 3, digitized).
- Sizes (GPUs): ``helios``: the GPU-count CDF of the four clusters weighted by their GPU job
  counts (SC'21 Fig. 6a). ``philly``: 82 % single-GPU jobs (stats.yaml philly.job_size,
  secondary), multi-GPU jobs sized as Helios' multi-GPU jobs. ``alibaba-pai``: 97.3 % of tasks
  ask for at most one GPU per instance (NSDI'22 Fig. 5, digitized: 14.7 + 26.5 + 13.2 + 42.7 %;
  a fraction of a GPU is given a whole one here), the other 2.7 % sized as Helios' multi-GPU jobs.
- Run times: ``philly``: lognormal per size bucket with the bucket's median and 90th percentile
  (ATC'19 Fig. 2 as re-plotted by the authors' notebook, digitized: 1 GPU 19 / 244 min, 2-4:
  33 / 3446, 5-8: 206 / 5972, >8: 136 / 3108), sigma = ln(p90 / p50) / z90. ``helios``: the
  GPU-job duration CDF (SC'21 Fig. 1a), log-linear between its 2^i s points. ``alibaba-pai``:
  the task run-time CDF (NSDI'22 Fig. 4, digitized), log-linear between its points.
- Tenants: ``philly``: the 11 virtual clusters of HeliosArtifact's Philly replay, weighted by
  their node quotas; ``helios``: Venus' virtual clusters by GPU quota on 2020-04-01;
  ``alibaba-pai``: its GPU pools by share of tasks (NSDI'22 Fig. 5 lower panel).
- Rate: ``philly``: 117,325 jobs over the release's 137 days on its typical 420 nodes x 8 GPUs;
  ``helios``: 1,580,464 GPU jobs over 181 days on 6,220 GPUs; ``alibaba-pai``: 18,494 tasks a
  day (sum of the hourly medians) on 6,742 GPUs. ``gpus`` scales the rate to another cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DAY_S = 86400.0
Z90 = 1.2815515655446004   # standard normal 90th percentile

# HELIOS_ART job_cdf_gpunum.pdf (SC'21 Fig. 6a): % of GPU jobs with at most x GPUs, per cluster.
HELIOS_SIZE_X = (1, 2, 4, 8, 12, 16, 24, 32, 40, 48, 56, 64, 128)
HELIOS_SIZE_CDF = {
    "Venus": (51.84, 57.38, 64.8, 89.98, 89.98, 94.14, 95.04, 97.76, 98.05, 98.3, 98.48, 98.71, 100.0),
    "Earth": (89.17, 89.98, 92.08, 97.51, 97.52, 99.09, 99.27, 99.75, 99.78, 99.82, 99.84, 99.87, 100.0),
    "Saturn": (68.25, 71.05, 79.36, 94.93, 94.95, 97.46, 97.86, 99.27, 99.4, 99.52, 99.6, 99.73, 100.0),
    "Uranus": (66.26, 69.44, 73.74, 92.31, 92.32, 97.87, 98.15, 99.6, 99.65, 99.7, 99.74, 99.96, 100.0),
}
# helios_cluster_summary.csv gpu_job_num: the weights of the mix.
HELIOS_GPU_JOBS = {"Venus": 125303, "Earth": 427148, "Saturn": 698896, "Uranus": 329117}
# HELIOS_ART compare_philly.pdf panel (a), blue line (SC'21 Fig. 1a): % of GPU jobs shorter than 2^i s.
HELIOS_DURATION_CDF = (4.0, 4.93, 6.35, 7.7, 10.72, 16.15, 24.88, 37.81, 56.57, 67.58, 75.25, 84.1, 87.53,
                       90.75, 94.36, 96.26, 97.77, 98.9, 99.55, 99.86, 99.96, 100.0)
# HELIOS_ART cluster_diurnal.pdf panel (b) (SC'21 Fig. 2b): mean GPU jobs submitted per clock hour.
HELIOS_HOURLY = {
    "Venus": (25.85, 18.97, 17.28, 11.08, 7.73, 5.92, 5.4, 6.45, 10.79, 22.94, 37.33, 42.49, 33.56, 37.43, 44.94,
              47.75, 49.98, 49.95, 36.96, 37.85, 38.76, 39.33, 33.12, 29.92),
    "Earth": (107.91, 96.06, 88.46, 84.41, 81.54, 79.19, 74.03, 74.24, 72.55, 81.49, 102.03, 112.32, 108.87,
              112.71, 105.69, 115.85, 113.46, 101.97, 93.73, 107.81, 122.61, 115.58, 105.63, 101.56),
    "Saturn": (139.51, 142.9, 113.61, 104.65, 98.03, 90.82, 85.94, 85.1, 95.37, 138.28, 184.14, 198.57, 173.8,
               185.5, 206.5, 234.98, 241.71, 219.46, 180.34, 186.28, 203.53, 195.76, 175.42, 179.81),
    "Uranus": (55.5, 48.71, 28.45, 16.86, 17.85, 25.98, 33.54, 19.96, 24.69, 53.87, 85.29, 96.67, 119.18, 109.45,
               125.41, 120.61, 138.1, 112.39, 88.01, 104.05, 111.32, 94.64, 100.15, 86.41),
}
# HeliosData@50b7631 data/Venus/cluster_gpu_number.csv, 2020-04-01 (VCs with GPUs that day).
HELIOS_VENUS_VC_GPUS = {"vcEwI": 72, "vcWoR": 64, "vcHvQ": 64, "vcvGl": 80, "vc8Gr": 48, "vcKrE": 32, "vchbv": 72,
                        "vcP2J": 48, "vcLTP": 64, "vcJLV": 16, "vcJkd": 16, "vcsBT": 64, "vcefl": 80, "vcvlY": 64,
                        "vcOhe": 56, "vccJW": 32, "vc6YE": 88, "vcgkz": 8}
# HELIOS_ART framework/QSSF Service/data/philly_vc.csv: Philly VC -> node quota.
PHILLY_VC_NODES = {"6214e9": 64, "7f04ca": 32, "11cb48": 16, "b436b2": 64, "ee9e8c": 64, "e13805": 16,
                   "6c71a0": 32, "2869ce": 16, "ed69ec": 8, "103959": 8, "0e4a51": 32}
# PHILLY_REPO notebook Figure 2 (digitized, +-10 %): run-time median and p90 by job size, minutes.
PHILLY_RUNTIME_MIN = {"1": (19.0, 244.0), "2-4": (33.0, 3446.0), "5-8": (206.0, 5972.0), ">8": (136.0, 3108.0)}
PHILLY_SINGLE_GPU_SHARE = 0.82
# PAI_REPO figures/analysis-04.png (NSDI'22 Fig. 4, digitized): % of tasks shorter than x s.
PAI_RUNTIME_AT_S = ((30, 11.1), (60, 20.5), (100, 26.8), (300, 42.3), (600, 52.4), (1000, 59.9), (1800, 68.4),
                    (3600, 76.7), (10000, 89.6), (86400, 99.2))
# PAI_REPO figures/analysis-05.png (NSDI'22 Fig. 5): % of tasks asking for more than one GPU per instance.
PAI_MULTI_GPU_SHARE = 0.027
# PAI_REPO figures/analysis-05.png lower panel: % of tasks by GPU type.
PAI_GPU_TYPE_SHARE = {"T4": 21.7, "MISC": 66.8, "P100": 7.0, "V100": 2.6, "V100M32": 1.6}
# PAI_REPO figures/analysis-03.png (NSDI'22 Fig. 3, digitized): median tasks submitted per hour.
PAI_HOURLY = (1084, 742, 541, 448, 558, 541, 605, 732, 592, 702, 1084, 1119, 771, 761, 962, 1011, 974, 1079, 813,
              800, 771, 678, 605, 521)


@dataclass(frozen=True)
class Preset:
    """One trace's published shape: jobs per day on how many GPUs."""

    name: str
    jobs_per_day: float
    gpus: int
    description: str


PRESETS = {
    "philly": Preset("philly", 117325 / 137.0, 420 * 8,
                     "Microsoft Philly 2017 (Jeon et al., ATC'19): 82% single-GPU jobs, run times by job size"),
    "helios": Preset("helios", 1580464 / 181.0, 6220,
                     "SenseTime Helios 2020 (Hu et al., SC'21): GPU-count and duration CDFs of four clusters"),
    "alibaba-pai": Preset("alibaba-pai", float(sum(PAI_HOURLY)), 6742,
                          "Alibaba PAI 2020 (Weng et al., NSDI'22): task sizes, run times and hourly submissions"),
}


def helios_size_pmf() -> tuple[np.ndarray, np.ndarray]:
    """(sizes, probabilities) of the four clusters' mix, weighted by their GPU job counts."""
    total = sum(HELIOS_GPU_JOBS.values())
    cdf = sum(np.array(HELIOS_SIZE_CDF[c]) * w for c, w in HELIOS_GPU_JOBS.items()) / total / 100.0
    pmf = np.diff(np.concatenate(([0.0], cdf)))
    return np.array(HELIOS_SIZE_X), pmf / pmf.sum()


def single_share_pmf(single: float) -> tuple[np.ndarray, np.ndarray]:
    """``single`` of the jobs on one GPU; the others sized as Helios' multi-GPU jobs."""
    sizes, pmf = helios_size_pmf()
    multi = pmf[1:] / pmf[1:].sum() * (1.0 - single)
    return sizes, np.concatenate(([single], multi))


def hourly_shape(preset: str) -> np.ndarray:
    """Relative submission rate by hour of day, mean 1."""
    if preset == "alibaba-pai":
        shape = np.array(PAI_HOURLY, dtype=float)
    else:
        shape = np.sum([np.array(v, dtype=float) for v in HELIOS_HOURLY.values()], axis=0)
    return shape / shape.mean()


def arrival_times(n: int, days: float, shape: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``n`` sorted arrival times over ``days`` days with hour-of-day rates ``shape``."""
    hours = max(int(np.ceil(days * 24.0 - 1e-9)), 1)
    last_part = days * 24.0 - (hours - 1)               # the last hour may be partial, in (0, 1]
    weights = np.resize(shape, hours)
    weights[-1] *= last_part
    hour = rng.choice(hours, size=n, p=weights / weights.sum())
    within = rng.random(n)
    within[hour == hours - 1] *= last_part
    return np.sort((hour + within) * 3600.0)


def cdf_durations(x_s: np.ndarray, cdf: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draws from a CDF given at points ``x_s``, linear in log x between them (>= 1 s)."""
    lx = np.log(x_s)
    u = rng.random(n)
    below = max(lx[0] - 1.0, 0.0)
    x = np.interp(u, np.concatenate(([0.0], cdf)), np.concatenate(([below], lx)))
    return np.maximum(np.exp(x), 1.0)


def size_bucket(gpus: np.ndarray) -> np.ndarray:
    """Philly's job-size buckets as labels: 1, 2-4, 5-8, >8 GPUs."""
    return np.select([gpus <= 1, gpus <= 4, gpus <= 8], ["1", "2-4", "5-8"], ">8")


def philly_durations(gpus: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Lognormal run times per size bucket from Philly's medians and 90th percentiles."""
    bucket = size_bucket(gpus)
    z = rng.standard_normal(len(gpus))
    out = np.empty(len(gpus))
    for label, (p50, p90) in PHILLY_RUNTIME_MIN.items():
        sel = bucket == label
        sigma = np.log(p90 / p50) / Z90
        out[sel] = 60.0 * p50 * np.exp(sigma * z[sel])
    return np.maximum(out, 1.0)


def synthesize(preset: str, days: float, seed: int = 0, gpus: int | None = None, jobs: int | None = None,
               max_duration_s: float | None = None) -> pd.DataFrame:
    """A synthetic trace (DataFrame in the dcsim columns) of ``preset`` over ``days``, at the
    preset's rate scaled to ``gpus`` GPUs, or exactly ``jobs`` jobs; run times cut to
    ``max_duration_s`` if given."""
    p = PRESETS[preset]
    rng = np.random.default_rng(seed)
    n = jobs if jobs is not None else int(rng.poisson(p.jobs_per_day * days * (gpus or p.gpus) / p.gpus))
    submit = arrival_times(n, days, hourly_shape(preset), rng)
    if preset == "helios":
        sizes, pmf = helios_size_pmf()
    else:
        sizes, pmf = single_share_pmf(PHILLY_SINGLE_GPU_SHARE if preset == "philly" else 1.0 - PAI_MULTI_GPU_SHARE)
    job_gpus = sizes[rng.choice(len(sizes), size=n, p=pmf)]
    if preset == "philly":
        duration = philly_durations(job_gpus, rng)
    elif preset == "helios":
        duration = cdf_durations(np.exp2(np.arange(len(HELIOS_DURATION_CDF), dtype=float)),
                                 np.array(HELIOS_DURATION_CDF) / 100.0, n, rng)
    else:
        x, c = zip(*PAI_RUNTIME_AT_S, strict=True)
        cdf = np.array(c) / 100.0
        duration = cdf_durations(np.array(x, dtype=float), np.concatenate((cdf[:-1], [1.0])), n, rng)
    if max_duration_s is not None:
        duration = np.minimum(duration, max_duration_s)
    tenant_weights: dict[str, dict[str, float]] = {"philly": dict(PHILLY_VC_NODES),
                                                   "helios": dict(HELIOS_VENUS_VC_GPUS),
                                                   "alibaba-pai": PAI_GPU_TYPE_SHARE}
    quotas = tenant_weights[preset]
    names = np.array(list(quotas), dtype=object)
    weights = np.array(list(quotas.values()), dtype=float)
    tenant = names[rng.choice(len(names), size=n, p=weights / weights.sum())]
    return pd.DataFrame({"submit_s": np.round(submit, 3), "gpus": job_gpus.astype(np.int64),
                         "duration_s": np.round(np.maximum(duration, 1.0), 3), "tenant": tenant})
