"""ML-Agents' protobuf messages (package `communicator_objects`), from the .proto files here.

The `*_pb2.py` modules are protoc's output, checked in; after changing a .proto, regenerate them
from the repository root with `pip install grpcio-tools` and
`python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. --grpc_python_out=.
mlagents_fast/communicator_objects/*.proto`.
protoc writes a `*_pb2_grpc.py` for every file, but only `unity_to_external_pb2_grpc.py` (the
UnityToExternalProto service) has anything in it: keep that one and delete the others.
"""
