#!/bin/bash
# Runs from application/apps/setup/ (APPCMDS); the config directory's contents sit beside it.
set -e
kubectl apply -f settings.yaml
