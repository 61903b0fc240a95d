using System;
using System.IO;
using System.Text;

namespace FineTuning.Monitoring;

/// <summary>
/// Hand-encoded protobuf of the two TensorFlow <c>Event</c> messages a scalar log needs
/// (tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto):
/// <c>Event { double wall_time = 1; int64 step = 2; oneof { string file_version = 3; Summary summary = 5; } }</c>,
/// <c>Summary { repeated Value value = 1; }</c>, <c>Value { string tag = 1; float simple_value = 2; }</c>.
/// </summary>
internal static class EventProto
{
    private const int Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5, VarintType = 0;

    public static byte[] FileVersion(double wallTime) =>
        Event(wallTime, 0, body => Bytes(body, 3, Encoding.UTF8.GetBytes("brain.Event:2")));

    public static byte[] Scalar(double wallTime, long step, string tag, float value) =>
        Event(wallTime, step, body =>
        {
            using var val = new MemoryStream();
            Bytes(val, 1, Encoding.UTF8.GetBytes(tag));
            Key(val, 2, Fixed32);
            Span<byte> f = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(f, value);
            val.Write(f);
            using var summary = new MemoryStream();
            Bytes(summary, 1, val.ToArray());
            Bytes(body, 5, summary.ToArray());
        });

    private static byte[] Event(double wallTime, long step, Action<MemoryStream> what)
    {
        using var ev = new MemoryStream();
        Key(ev, 1, Fixed64);
        Span<byte> d = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteDoubleLittleEndian(d, wallTime);
        ev.Write(d);
        if (step != 0)
        {
            Key(ev, 2, VarintType);
            Varint(ev, unchecked((ulong)step));
        }
        what(ev);
        return ev.ToArray();
    }

    private static void Bytes(MemoryStream s, int field, byte[] bytes)
    {
        Key(s, field, LengthDelimited);
        Varint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void Key(MemoryStream s, int field, int wireType) => Varint(s, (ulong)((field << 3) | wireType));

    private static void Varint(MemoryStream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }
}
