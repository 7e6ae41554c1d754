"""Writer for the test-vector files read by tests/vectors.c.

Format (little endian): the 8 bytes b"ADNVEC1\\n", then records until end of file:
    u32 name_length, name (UTF-8, no NUL), u32 ndim, u32 dims[ndim], float32 data[prod(dims)]
Integers and flags are stored as float32 too (exact up to 2^24).
"""
import struct


class VectorWriter:
    def __init__(self, path):
        self._file = open(path, "wb")
        self._file.write(b"ADNVEC1\n")
        self._names = set()

    def add(self, name, array):
        """Adds a tensor or numpy array (converted to float32, C order)."""
        try:
            import torch
            if isinstance(array, torch.Tensor):
                array = array.detach().cpu().contiguous().numpy()
        except ImportError:
            pass
        import numpy as np
        array = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
        if name in self._names:
            raise ValueError(f"duplicate vector name {name!r}")
        self._names.add(name)
        encoded = name.encode()
        self._file.write(struct.pack("<I", len(encoded)) + encoded)
        self._file.write(struct.pack("<I", array.ndim))
        self._file.write(struct.pack(f"<{array.ndim}I", *array.shape))
        self._file.write(array.astype("<f4").tobytes())

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
