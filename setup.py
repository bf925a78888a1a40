"""Build of the optional C extension ``ipcbench._native`` (everything else is in pyproject.toml).

``optional=True``: on a machine without a C compiler (or its headers) the build prints a warning and the
package installs without the native tier; ``ipcbench list`` then says so and why.
"""

from pathlib import Path

from setuptools import Extension, setup

SOURCES = sorted(str(path) for path in Path("ipcbench/_native_c").glob("*.c"))

setup(
    ext_modules=[
        Extension(
            "ipcbench._native",
            sources=SOURCES,
            depends=["ipcbench/_native_c/native.h"],
            extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
            libraries=["rt", "pthread"],
            optional=True,
        )
    ]
)
