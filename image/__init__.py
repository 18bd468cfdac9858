"""The Lambda container image: a local stand-in base, the image build (docker or buildah), its smoke test."""
