__version__ = "0.1.0"


def __getattr__(name):
    "`from bg2vec import Bg2Vec`, without importing torch and llm2vec until it is asked for"
    if name == 'Bg2Vec':
        from .model import Bg2Vec
        return Bg2Vec
    raise AttributeError(f"module 'bg2vec' has no attribute {name!r}")
