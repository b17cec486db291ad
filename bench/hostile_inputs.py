#!/usr/bin/env python3
# Writes the hostile inputs of issue 12 (format side) into a folder, to measure what opening them costs:
#   python3 bench/hostile_inputs.py /tmp/hostile
#   /usr/bin/time -v node dist/cli.js inspect --json /tmp/hostile/many-1m.safetensors > /dev/null
# Nothing here is committed as data (the files are tens of megabytes); the unit tests build small variants.
# The pickles are written opcode by opcode and never loaded: they name os.system but nothing here runs them.
import os
import struct
import sys
import zipfile


def safetensors_many(path, count):
    """count tensors of one F16 element each: the header is most of the file."""
    parts = []
    for i in range(count):
        parts.append('"t.%d":{"dtype":"F16","shape":[1],"data_offsets":[%d,%d]}' % (i, 2 * i, 2 * i + 2))
    header = ('{' + ','.join(parts) + '}').encode()
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(header)))
        f.write(header)
        f.write(b'\0' * (2 * count))


def varint(v):
    out = bytearray()
    while True:
        low = v & 0x7F
        v >>= 7
        out.append(low | 0x80 if v else low)
        if not v:
            return bytes(out)


def field(number, body):
    return varint(number * 8 + 2) + varint(len(body)) + body


def onnx_many(path, count):
    """A graph of count float initializers, one element each (TensorProto: dims 1, data_type 2, name 8, raw 9)."""
    inits = b''.join(field(5, varint(8) + varint(1) + varint(16) + varint(1) + field(8, b'w%d' % i) + field(9, b'\0\0\0\0'))
                     for i in range(count))
    graph = field(2, b'g') + inits
    model = varint(8) + varint(8) + field(7, graph) + field(8, varint(16) + varint(17))
    with open(path, 'wb') as f:
        f.write(model)


def global_op(module, name):
    return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def binunicode(text):
    data = text.encode()
    return b'X' + struct.pack('<I', len(data)) + data


def tensor_ops():
    """_rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', 1), 0, (1,), (1,), False, OrderedDict())."""
    return (global_op('torch._utils', '_rebuild_tensor_v2') + b'(' +
            b'(' + binunicode('storage') + global_op('torch', 'FloatStorage') + binunicode('0') + binunicode('cpu') + b'K\x01' + b'tQ' +
            b'K\x00' + b'K\x01\x85' + b'K\x01\x85' + b'\x89' + global_op('collections', 'OrderedDict') + b')R' + b'tR')


def torch_zip(path, pickle, storages=(('0', b'\0\0\0\0'),)):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('archive/data.pkl', pickle)
        z.writestr('archive/version', '3\n')
        for key, data in storages:
            z.writestr('archive/data/' + key, data)


def memoize_flood(path, count):
    """PROTO 4, an empty list, then count MEMOIZE opcodes: count memo entries for one byte each."""
    torch_zip(path, b'\x80\x04]' + b'\x94' * count + b'.')


def shared_dag(path, depth):
    """One tensor, then depth levels of [previous, previous]: 2^depth paths to the same tensor in ~10 bytes a level."""
    ops = b'\x80\x02' + tensor_ops() + b'q\x00'
    for level in range(depth):
        ops += b']q' + bytes([level + 1]) + b'(h' + bytes([level]) + b'h' + bytes([level]) + b'e'
    torch_zip(path, ops + b'.')


def os_system_call():
    return global_op('os', 'system') + binunicode('echo pwned') + b'\x85R'


def evil_truncated(path):
    """os.system('...') reduced, then the pickle ends without STOP: torch.load runs the call, then fails."""
    torch_zip(path, b'\x80\x02' + os_system_call() + b'0')


def evil_missing_storage(path):
    """A state_dict whose tensor's storage is not in the archive, next to an os.system call."""
    body = b'\x80\x02}(' + binunicode('x') + os_system_call() + binunicode('w') + tensor_ops() + b'u.'
    torch_zip(path, body, storages=())


if __name__ == '__main__':
    out = sys.argv[1] if len(sys.argv) > 1 else '/tmp/hostile'
    os.makedirs(out, exist_ok=True)
    safetensors_many(os.path.join(out, 'many-1m.safetensors'), 1_000_000)
    onnx_many(os.path.join(out, 'many-500k.onnx'), 500_000)
    memoize_flood(os.path.join(out, 'memoize-flood.pt'), 60_000_000)
    shared_dag(os.path.join(out, 'shared-dag.pt'), 40)
    evil_truncated(os.path.join(out, 'evil-truncated.pt'))
    evil_missing_storage(os.path.join(out, 'evil-missing-storage.pt'))
    print('written to', out)
