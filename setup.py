from setuptools import find_packages, setup

setup(
    name="sertk",
    version="0.1.0",
    description="Speech emotion recognition toolkit with ESPnet-style recipes",
    packages=find_packages(include=["sertk", "sertk.*"]),
    python_requires=">=3.9",
    # The pinned stack lives in tools/requirements.txt (installed by tools/install.sh);
    # these are the imports sertk needs at minimum.
    install_requires=[
        "torch", "torchaudio", "numpy", "kaldiio", "librosa", "soundfile", "pyyaml",
        "click", "scikit-learn", "matplotlib", "tqdm",
    ],
    extras_require={"s3prl": ["s3prl"], "hf": ["transformers", "safetensors"]},
    entry_points={"console_scripts": ["sertk=sertk.cli:main"]},
)
