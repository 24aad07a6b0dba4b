"""Time accounting from the emulator's request log, for the benchmarks at real-world latency.

Every figure here comes from timestamps the emulator wrote itself (a log entry's `time`, when the request was
taken up, and `answered`, when its answer went out; a job's creation and its drawn duration), never from a
clock outside the log, so Ansible's start-up and the module's work before its first request are not in them.

"Time beyond the job time" (target 6) of a run whose uploads start jobs:

    wall     = last answer - first request              (the run's span in the log)
    waiting  = max(0, last job's end - last upload accepted)
    beyond   = wall - waiting
             = (last upload accepted - first request) + (last answer - max(last job's end, last upload accepted))

`waiting` is the part no client can shorten once its uploads are in: the service still processes a job. The
rest is the client's: getting every upload accepted, then seeing the jobs end and reading their outcomes.
Subtracting the longest job's span instead would also subtract upload time whenever the longest job ran while
later uploads were still going out (with concurrency 1 the uploads alone take longer than most jobs).
"""


def answered(entry):
    return entry["answered"] if entry.get("answered") is not None else entry["time"]


def span(entries):
    """(first request taken up, last answer) of the logged requests."""
    return min(e["time"] for e in entries), max(answered(e) for e in entries)


def job_end(job, emu):
    """When the emulator's job finishes by its own timeline (not when someone first read it finished)."""
    queued, processing = job.get("queue_for"), job.get("process_for")
    if queued is None:
        queued, processing = emu.queue_seconds * emu.time_scale, emu.process_seconds * emu.time_scale
    return job["created"] + queued + processing


def jobs_of(emu):
    """[(tracking id, created, end, duration)] of every job the emulator holds, oldest first."""
    with emu.lock:
        jobs = [(j["id"], j["created"], job_end(j, emu)) for j in emu.jobs.values()]
    return sorted((tid, created, end, end - created) for tid, created, end in jobs)


def beyond_job_time(entries, upload_answers, job_ends):
    """The accounting above: dict of wall, uploads, waiting, tail and beyond (seconds)."""
    first, last = span(entries)
    last_upload = max(upload_answers) if upload_answers else first
    last_job = max(job_ends) if job_ends else last_upload
    waiting = max(0.0, last_job - last_upload)
    return dict(wall=last - first, uploads=last_upload - first, waiting=waiting,
                tail=last - max(last_job, last_upload), beyond=last - first - waiting)


def in_flight(entries, start, end):
    """Mean number of requests inside the emulator during [start, end] (the time they spent in it / the span)."""
    if end <= start:
        return 0.0
    inside = sum(max(0.0, min(answered(e), end) - max(e["time"], start)) for e in entries)
    return inside / (end - start)


def idle(entries, start, end):
    """Seconds of [start, end] during which no request was inside the emulator: the client was working,
    connecting or sending, not waiting on the service."""
    covered, reach = 0.0, start
    for begin, finish in sorted((max(e["time"], start), min(answered(e), end)) for e in entries):
        if finish <= reach:
            continue
        covered += finish - max(begin, reach)
        reach = finish
    return (end - start) - covered


def seen_late(entries, jobs, since=None, path_part="/batchJobStatus/"):
    """{tracking id: seconds from the job's end (or `since`, when later) until an answer read it finished} for
    the jobs read after that moment (a status read taken up at or after the job's end sees it finished)."""
    reads = {}
    for entry in entries:
        if entry["method"] == "GET" and path_part in entry["path"]:
            reads.setdefault(entry["path"].rsplit("/", 1)[-1], []).append(entry)
    late = {}
    for tracking_id, _created, end, _duration in jobs:
        start = end if since is None else max(end, since)
        after = [answered(e) for e in reads.get(tracking_id, []) if e["time"] >= start]
        if after:
            late[tracking_id] = min(after) - start
    return late
