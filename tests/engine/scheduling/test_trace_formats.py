"""Reading traces: the dcsim columns, the public traces' adapters, bad tables, synthesis."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from simulator.engine.trace.formats import read_trace
from simulator.engine.trace.synth import PRESETS, synthesize
from simulator.errors import InputError


def test_dcsim_csv_sorted_by_submit(tmp_path):
    path = tmp_path / "jobs.csv"
    path.write_text("submit_s,gpus,duration_s,tenant,priority\n50,8,100,b,1\n10,1,60,a,\n")
    t = read_trace(path, "dcsim")
    assert t.submit_s.tolist() == [10.0, 50.0]
    assert t.gpus.tolist() == [1, 8]
    assert [t.tenants[i] for i in t.tenant] == ["a", "b"]
    assert t.priority.tolist() == [0, 1]                 # a blank priority is 0
    assert t.min_gpus.tolist() == [1, 8]                 # no min_gpus: rigid


@pytest.mark.parametrize(("text", "message"), [
    ("submit_s,gpus\n0,1\n", "no column duration_s"),
    ("submit_s,gpus,duration_s,colour\n0,1,5,red\n", "unknown column colour"),
    ("submit_s,gpus,duration_s\n0,-2,5\n", "column gpus, row 1"),
    ("submit_s,gpus,duration_s\n0,1,5\n0,1,-5\n0,1,0\n",
     "column duration_s, row 2: run time must be a number of seconds > 0 (or give model, tokens and "
     "global_batch) (2 rows)"),
    ("submit_s,gpus,duration_s,min_gpus\n0,4,5,8\n", "min_gpus must be a whole number from 1 to the row's gpus"),
    ("submit_s,gpus,duration_s,gpu_util\n0,4,5,1.5\n", "gpu_util must be a fraction"),
])
def test_bad_tables_name_the_column_and_row(tmp_path, text, message):
    path = tmp_path / "jobs.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        read_trace(path, "dcsim")
    assert message in str(err.value)


def test_helios_cluster_log(tmp_path):
    # the README's columns (HeliosData cluster_log.csv); a CPU-only job is dropped
    path = tmp_path / "cluster_log.csv"
    path.write_text("job_id,user,vc,gpu_num,cpu_num,node_num,state,submit_time,start_time,end_time,duration,queue\n"
                    "1,uA,vcX,8,48,1,COMPLETED,2020-04-01 00:00:10,2020-04-01 00:01:10,2020-04-01 01:01:10,3600,60\n"
                    "2,uB,vcY,0,4,1,COMPLETED,2020-04-01 00:00:20,2020-04-01 00:00:20,2020-04-01 00:00:30,10,0\n"
                    "3,uB,vcY,1,4,1,FAILED,2020-04-01 00:02:10,2020-04-01 00:02:10,2020-04-01 00:04:10,120,0\n")
    t = read_trace(path, "helios")
    assert t.gpus.tolist() == [8, 1]
    assert t.duration_s.tolist() == [3600.0, 120.0]
    assert t.submit_s[1] - t.submit_s[0] == 120.0
    assert t.notes["dropped_cpu_jobs"] == 1


def test_pai_task_table_without_header(tmp_path):
    # pai_task_table.header: job_name,task_name,inst_num,status,start_time,end_time,plan_cpu,plan_mem,plan_gpu,gpu_type
    path = tmp_path / "pai_task_table.csv"
    path.write_text("j1,worker,4,Terminated,1000,1600,600,29,50,V100\n"     # 4 x 0.5 GPU -> 2 GPUs
                    "j2,tf,1,Terminated,1100,1200,600,29,,MISC\n"           # no GPU: dropped
                    "j3,worker,2,Terminated,1200,4800,600,29,100,T4\n")     # 2 GPUs
    t = read_trace(path, "alibaba-pai")
    assert t.gpus.tolist() == [2, 2]
    assert t.duration_s.tolist() == [600.0, 3600.0]
    assert list(t.tenants) == ["T4", "V100"]


def test_philly_job_log(tmp_path):
    jobs = [{"status": "Pass", "vc": "ee9e8c", "jobid": "application_1_1", "user": "u1",
             "submitted_time": "2017-10-01 10:00:00",
             "attempts": [{"start_time": "2017-10-01 10:05:00", "end_time": "2017-10-01 10:30:00",
                           "detail": [{"ip": "m1", "gpus": ["gpu0", "gpu1"]}, {"ip": "m2", "gpus": ["gpu0"]}]},
                          {"start_time": "2017-10-01 11:00:00", "end_time": "2017-10-01 12:00:00",
                           "detail": [{"ip": "m3", "gpus": ["gpu0"]}]}]},
            {"status": "Killed", "vc": "ee9e8c", "jobid": "application_1_2", "user": "u2",
             "submitted_time": "2017-10-01 10:01:00", "attempts": []}]
    path = tmp_path / "cluster_job_log"
    path.write_text(json.dumps(jobs))
    t = read_trace(path, "philly")
    assert t.gpus.tolist() == [3]                       # the first attempt's GPUs
    assert t.duration_s.tolist() == [115 * 60.0]        # first start to last end
    assert t.notes["dropped_no_attempt"] == 1


def test_synthesis_is_deterministic_and_keeps_the_published_shares():
    a = synthesize("philly", 20.0, seed=5)
    b = synthesize("philly", 20.0, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(synthesize("philly", 20.0, seed=6))
    # 82 % single-GPU jobs (Philly); 856 jobs a day (117,325 over 137 days) on 3,360 GPUs
    assert np.mean(a.gpus == 1) == pytest.approx(0.82, abs=0.02)
    assert len(a) == pytest.approx(20 * 117325 / 137, rel=0.03)
    one = a.duration_s[a.gpus == 1]
    assert np.median(one) == pytest.approx(19 * 60, rel=0.1)     # Philly Fig. 2 median, 1 GPU
    h = synthesize("helios", 2.0, seed=1)
    assert np.mean(h.gpus == 1) == pytest.approx(0.722, abs=0.02)  # Helios weighted CDF at 1 GPU
    assert np.median(h.duration_s) == pytest.approx(206, rel=0.15)  # helios_cluster_summary median
    p = synthesize("alibaba-pai", 1.0, seed=1)
    assert np.median(p.duration_s) == pytest.approx(507, rel=0.15)  # NSDI'22 Fig. 4 median (digitized)
    assert set(PRESETS) == {"philly", "helios", "alibaba-pai"}
