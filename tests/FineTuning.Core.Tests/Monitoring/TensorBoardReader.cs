using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace FineTuning.Core.Tests.Monitoring;

/// <summary>
/// An independent reader of TensorBoard event files, written from the specs (TFRecord: u64 length, masked CRC-32C of
/// the length, data, masked CRC-32C of the data; protobuf wire format; event.proto / summary.proto field numbers). Its
/// CRC is the bitwise definition (no table), so it shares nothing with the writer.
/// </summary>
internal static class TensorBoardReader
{
    internal sealed record Event(double WallTime, long Step, string? FileVersion, List<(string Tag, float Value)> Scalars);

    public static List<Event> Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        int at = 0;
        while (at < bytes.Length)
        {
            ReadOnlySpan<byte> lengthBytes = bytes.AsSpan(at, 8);
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
            Check(lengthBytes, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8, 4)), "length");
            ReadOnlySpan<byte> data = bytes.AsSpan(at + 12, checked((int)length));
            Check(data, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12 + (int)length, 4)), "data");
            events.Add(ParseEvent(data.ToArray()));
            at += 12 + (int)length + 4;
        }
        return events;
    }

    /// <summary>CRC-32C by its definition: reflected, polynomial 0x82F63B78, one bit at a time.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = uint.MaxValue;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0x82F63B78u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }

    private static void Check(ReadOnlySpan<byte> data, uint stored, string what)
    {
        uint crc = Crc32C(data);
        uint masked = unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
        if (masked != stored) throw new InvalidDataException($"bad masked CRC of the {what}: stored {stored:X8}, computed {masked:X8}");
    }

    private static Event ParseEvent(byte[] data)
    {
        double wallTime = 0;
        long step = 0;
        string? fileVersion = null;
        var scalars = new List<(string, float)>();
        foreach ((int field, int wire, ulong value, byte[] bytes) in Fields(data))
        {
            switch (field)
            {
                case 1 when wire == 1: wallTime = BitConverter.Int64BitsToDouble((long)value); break;
                case 2 when wire == 0: step = (long)value; break;
                case 3 when wire == 2: fileVersion = Encoding.UTF8.GetString(bytes); break;
                case 5 when wire == 2:
                    foreach ((int f, int w, ulong _, byte[] summaryValue) in Fields(bytes))
                    {
                        if (f != 1 || w != 2) throw new InvalidDataException($"unexpected Summary field {f}");
                        string tag = "";
                        float simple = float.NaN;
                        foreach ((int vf, int vw, ulong v, byte[] vb) in Fields(summaryValue))
                        {
                            if (vf == 1 && vw == 2) tag = Encoding.UTF8.GetString(vb);
                            else if (vf == 2 && vw == 5) simple = BitConverter.Int32BitsToSingle((int)v);
                            else throw new InvalidDataException($"unexpected Summary.Value field {vf}");
                        }
                        scalars.Add((tag, simple));
                    }
                    break;
                default: throw new InvalidDataException($"unexpected Event field {field} (wire type {wire})");
            }
        }
        return new Event(wallTime, step, fileVersion, scalars);
    }

    private static IEnumerable<(int Field, int Wire, ulong Value, byte[] Bytes)> Fields(byte[] message)
    {
        int at = 0;
        while (at < message.Length)
        {
            ulong key = Varint(message, ref at);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: yield return (field, wire, Varint(message, ref at), Array.Empty<byte>()); break;
                case 1: yield return (field, wire, BinaryPrimitives.ReadUInt64LittleEndian(message.AsSpan(at, 8)), Array.Empty<byte>()); at += 8; break;
                case 5: yield return (field, wire, BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(at, 4)), Array.Empty<byte>()); at += 4; break;
                case 2:
                    int length = checked((int)Varint(message, ref at));
                    yield return (field, wire, 0, message.AsSpan(at, length).ToArray());
                    at += length;
                    break;
                default: throw new InvalidDataException($"unsupported wire type {wire}");
            }
        }
    }

    private static ulong Varint(byte[] data, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
    }
}
