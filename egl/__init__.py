"""EGL: the entity graph — extraction, three-stage relation mining (TRMP: candidates -> ALPC
ranking -> snapshot ensemble), storage, k-hop expansion with reasoning paths and user–entity
preference. `egl.build.build_graph` is the build stage; see each module for one idea."""
