"""Video input: decoding only the frames a sampler asks for, sampling, transforms, model presets."""
