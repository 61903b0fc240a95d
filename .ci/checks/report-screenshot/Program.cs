// ImageCheck <png> <min-luminance-variance> <min-non-white-fraction> <min-colour-fraction> [<region-height>]: decodes
// the image with SkiaSharp and measures it with PixelStats (tests/FineTuning.Reporting.Tests/PixelStats.cs, linked):
// luminance variance, the fraction of pixels that are not near white and the fraction that are strongly coloured
// (chart lines; text and borders are grey), over the whole image and over the top <region-height> rows (what a reader
// sees first). Exits 1 when a measure is below its minimum in either area (a blank page, or a page whose charts did
// not render), 2 on bad arguments or an undecodable file.
using System;
using System.Globalization;
using FineTuning.Reporting.Tests;
using SkiaSharp;

if (args.Length < 4) return Fail(2, "usage: ImageCheck <png> <min-variance> <min-non-white-fraction> <min-colour-fraction> [<region-height>]");
double minVariance = double.Parse(args[1], CultureInfo.InvariantCulture), minInk = double.Parse(args[2], CultureInfo.InvariantCulture);
double minColour = double.Parse(args[3], CultureInfo.InvariantCulture);
using SKBitmap? bitmap = SKBitmap.Decode(args[0]);
if (bitmap is null) return Fail(2, $"{args[0]}: not a decodable image");
int region = args.Length > 4 ? Math.Min(bitmap.Height, int.Parse(args[4], CultureInfo.InvariantCulture)) : bitmap.Height;
bool ok = true;
foreach ((string name, int rows) in new[] { ("whole image", bitmap.Height), ($"top {region} rows", region) })
{
    PixelStats stats = PixelStats.Of(bitmap, rows);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{args[0]} ({bitmap.Width}x{bitmap.Height}), {name}: luminance variance {stats.LuminanceVariance:F5}, non-white {stats.NonWhiteFraction:P2}, coloured {stats.ColouredFraction:P3}"));
    ok &= stats.LuminanceVariance >= minVariance && stats.NonWhiteFraction >= minInk && stats.ColouredFraction >= minColour;
}
return ok ? 0 : Fail(1, $"{args[0]}: nearly blank or without charts (minimum variance {minVariance}, non-white fraction {minInk}, coloured fraction {minColour})");

static int Fail(int code, string message)
{
    Console.Error.WriteLine(message);
    return code;
}
