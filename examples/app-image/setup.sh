#!/bin/bash
set -e
kubectl apply -f config/settings.yaml
