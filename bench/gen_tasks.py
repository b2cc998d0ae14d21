#!/usr/bin/env python3
"""Writes a tasks.json of N finished tasks for the benchmarks, without running any download.

The shape is the journal's (`Task` in src/tasks.rs): the server adopts exactly what this file
says. Every task is finished (completed, error or cancelled), so that nothing is queued again
at start and no yt-dlp runs. Titles, URLs and sizes vary the way a real list does; ids are
UUID v4.

    gen_tasks.py --count 10000 --out DATA/tasks.json [--attach ID:FILENAME:SIZE ...]

`--attach` puts a real file (named FILENAME, SIZE bytes, already in the downloads folder) on
one more completed task with that id, so `/api/stream/FILENAME` and `/api/thumbnails/ID`
are served.
"""

import argparse
import json
import random
import uuid
from datetime import datetime, timedelta, timezone

WORDS = (
    "live concert review tutorial how to build a raspberry pi cluster full album remastered "
    "episode highlights documentary trailer official video lecture part interview cooking "
    "recipe travel vlog tokyo lisboa reykjavík café 🎬 🎵 ⧸ speedrun world record history "
    "of rust programming language music mix 1 hour relaxing rain sounds unboxing"
).split()
STATUSES = ["completed"] * 8 + ["error", "cancelled"]
EXTRACTORS = ["youtube", "vimeo", "generic", "soundcloud", "dailymotion"]


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def title(rng):
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))).capitalize()


def task(rng, when, tid=None, filename=None, size=None):
    tid = tid or str(uuid.UUID(int=rng.getrandbits(128), version=4))
    status = "completed" if filename else rng.choice(STATUSES)
    audio = rng.random() < 0.2
    name = title(rng)
    video_id = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_") for _ in range(11))
    extractor = rng.choice(EXTRACTORS)
    ext = "m4a" if audio else rng.choice(["mp4", "webm", "mkv"])
    size = size if size is not None else rng.randint(2_000_000, 900_000_000)
    fname = filename or f"{name[:150]}__{tid}.{ext}"
    done = status == "completed"
    files = [{"filename": fname, "title": name, "filesize": size}] if done else []
    created = when
    started = when + timedelta(seconds=1)
    finished = when + timedelta(seconds=rng.randint(5, 900))
    return {
        "id": tid,
        "url": f"https://www.youtube.com/watch?v={video_id}" if extractor == "youtube"
        else f"https://{extractor}.example/watch/{video_id}",
        "title": name,
        "thumbnail": f"/api/thumbnails/{tid}" if done else "",
        "status": status,
        "progress": 100.0 if done else round(rng.uniform(0, 99), 1),
        "speed": "",
        "eta": "",
        "filesize": size,
        "downloaded_bytes": size if done else rng.randint(0, size),
        "format_note": "128kbps" if audio else rng.choice(["1080p", "720p", "480p", "2160p"]),
        "is_playlist": False,
        "playlist_index": 0,
        "playlist_total": 1,
        "filename": fname if done else "",
        "quality": rng.choice(["best", "192"]) if audio else rng.choice(["best", "1080p", "720p"]),
        "download_type": "audio" if audio else "video",
        "format_id": None,
        "audio_format": "m4a" if audio else None,
        "error_message": "ERROR: [generic] Unable to download webpage: HTTP Error 404: Not Found"
        if status == "error" else None,
        "created_at": rfc3339(created),
        "completed_at": rfc3339(finished) if done else None,
        "files": files,
        "video_id": video_id,
        "extractor": extractor,
        "duration": float(rng.randint(20, 7200)),
        "uploader": title(rng)[:40],
        "started_at": rfc3339(started),
        "updated_at": rfc3339(finished),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10_000)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--attach", action="append", default=[], metavar="ID:FILENAME:SIZE")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    tasks = [task(rng, start + timedelta(minutes=7 * i)) for i in range(args.count)]
    for spec in args.attach:
        tid, filename, size = spec.split(":", 2)
        tasks.append(task(rng, start + timedelta(minutes=7 * len(tasks)), tid, filename, int(size)))
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(tasks, f, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
