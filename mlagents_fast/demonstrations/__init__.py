"""ML-Agents' `.demo` demonstration files, read and written without the protobuf package.

format.py holds the layout, the field numbers and the `Demonstration` arrays; writer.py streams
records into a file (`DemonstrationWriter`, `write_demonstration`); reader.py reads a file or a
directory of them (`read_demonstration`). wire.py is the protobuf wire format they need and
png.py decodes the PNG-compressed camera observations Unity records.
"""
