#!/bin/bash
# Runs on every host at install time with the cluster env exported.
set -e
echo "init $(hostname)" >> "${SEALER_MARKER_DIR:-/tmp}/init.log"
