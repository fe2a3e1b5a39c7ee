#!/usr/bin/env bash
# Runs on the lent GPU machine (../shared/docs/DEVICE-VULKAN.md), in a copy of the repo
# that carries .gl/ (Debian's Vulkan loader packages) and .device-bundle/bundle.tar.xz
# (scripts/device_bundle.sh): installs the loader, points it at NVIDIA's driver, unpacks
# the bundle into /opt/lamina with the test data where the tests look for it, then runs
# the command given (BUNDLE=path picks another archive), e.g.
#   scripts/device_vulkan_run.sh /opt/lamina/bin/vulkan_ops_test
set -euo pipefail
cd "$(dirname "$0")/.."
for f in .gl/lib*.deb; do dpkg -x "$f" /; done
ldconfig
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
mkdir -p /opt/lamina
tar -C /opt/lamina -xJf "${BUNDLE:-.device-bundle/bundle.tar.xz}"
# The tests were compiled with LAMINA_TESTDATA=<repo>/../shared/testdata of the build
# machine (/work/main there).
mkdir -p /work/shared /work/main  # /work/main/../shared must resolve
rm -rf /work/shared/testdata
ln -s /opt/lamina/testdata /work/shared/testdata
# The CLI tests run the lamina binary by its build path (build-vk/lamina here).
mkdir -p /work/main/build-vk
ln -sf /opt/lamina/bin/lamina /work/main/build-vk/lamina
export LD_LIBRARY_PATH=/opt/lamina/lib
export PATH=/opt/lamina/bin:$PATH
"$@"
