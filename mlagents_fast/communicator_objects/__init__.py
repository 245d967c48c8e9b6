"""ML-Agents' protobuf messages (package `communicator_objects`), from the .proto files here.

The `*_pb2.py` modules are protoc's output, checked in; after changing a .proto, regenerate them
from the repository root with `pip install grpcio-tools` and
`python -m grpc_tools.protoc -I. --python_out=. --pyi_out=. mlagents_fast/communicator_objects/*.proto`.
"""
