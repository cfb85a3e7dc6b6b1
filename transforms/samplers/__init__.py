"""The pair samplers by name. A new sampler is one file here (a class following
samplers.base.Sampler, built from the SampleConfig) and one line in REGISTRY."""
from transforms.samplers.first_last import FirstLast
from transforms.samplers.keyframes import Keyframes
from transforms.samplers.stride import Stride

REGISTRY = {
    "keyframes": Keyframes,
    "first_last": FirstLast,
    "stride": Stride,
}


def sampler_for(config):
    """The sampler `config.sampler` names, built from the config."""
    return REGISTRY[config.sampler](config)
