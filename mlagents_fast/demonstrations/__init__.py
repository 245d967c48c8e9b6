"""ML-Agents' `.demo` demonstration files, read and written with ML-Agents' protobuf messages.

format.py holds the layout and the `Demonstration` arrays; writer.py streams records into a file
(`DemonstrationWriter`, `write_demonstration`); reader.py reads a file or a directory of them
(`read_demonstration`); png.py decodes (with Pillow) the PNG-compressed camera observations Unity
records. The messages are communicator_objects' (generated from the .proto files there).
"""
