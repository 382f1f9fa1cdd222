"""Sizes of an OCI image archive: per layer compressed (as pushed) and
uncompressed (as unpacked), the totals, and the floor: the given binaries
alone in one tar, gzip -6 (what the layers use).

python3 bench/image_sizes.py ARCHIVE BINARY...
"""
import gzip
import io
import json
import sys
import tarfile

MB = 1_000_000


def blob(archive, digest):
    return archive.extractfile("blobs/sha256/" + digest.split(":", 1)[1]).read()


def main(path, binaries):
    archive = tarfile.open(path)
    index = json.load(archive.extractfile("index.json"))
    manifest_digest = index["manifests"][0]["digest"]
    manifest_bytes = blob(archive, manifest_digest)
    manifest = json.loads(manifest_bytes)
    config_bytes = blob(archive, manifest["config"]["digest"])
    history = [h for h in json.loads(config_bytes)["history"] if not h.get("empty_layer")]
    total_compressed = len(manifest_bytes) + len(config_bytes)
    total_uncompressed = 0
    print(f"manifest {manifest_digest}")
    for number, layer in enumerate(manifest["layers"]):
        compressed = blob(archive, layer["digest"])
        uncompressed = len(gzip.decompress(compressed))
        total_compressed += len(compressed)
        total_uncompressed += uncompressed
        what = history[number]["created_by"].split(" in ")[-1].strip() if number < len(history) else "?"
        print(f"  layer {number}: {len(compressed) / MB:6.2f} MB compressed, "
              f"{uncompressed / MB:6.2f} MB uncompressed  {what}")
    print(f"image: {total_compressed / MB:.2f} MB compressed, {total_uncompressed / MB:.2f} MB uncompressed")

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for binary in binaries:
            tar.add(binary, arcname=binary.rsplit("/", 1)[-1])
    floor_tar = buffer.getvalue()
    floor = len(gzip.compress(floor_tar, compresslevel=6, mtime=0))
    print(f"floor (the {len(binaries)} binaries alone): {floor / MB:.2f} MB compressed, "
          f"{len(floor_tar) / MB:.2f} MB uncompressed; image overhead {(total_compressed - floor) / MB:.2f} MB compressed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
