import Testing
@testable import Charts

@Suite struct AxisTests {
    @Test func civilDatesMatchKnownInstants() {
        let c = UTCCalendar.civil(fromUnix: 1_795_478_400 + 14 * 3600 + 30 * 60)
        #expect([c.year, c.month, c.day, c.hour, c.minute] == [2026, 11, 24, 14, 30])
        let leap = UTCCalendar.civil(fromUnix: 951_782_400)
        #expect([leap.year, leap.month, leap.day] == [2000, 2, 29])
        let before = UTCCalendar.civil(fromUnix: -1)
        #expect([before.year, before.month, before.day, before.hour, before.minute] == [1969, 12, 31, 23, 59])
        #expect(UTCCalendar.daysFromCivil(year: 2026, month: 11, day: 24) == 20_781)
    }

    @Test func timeTickFormatFollowsTheSpan() {
        let start = 1_795_478_400.0
        let hours = XTicks.time(minX: start, maxX: start + 36 * 3600, columns: 70).map(\.label)
        #expect(hours.first == "11-24 00:00")
        #expect(hours.allSatisfy { $0.count == 11 })
        let days = XTicks.time(minX: start, maxX: start + 20 * 86_400, columns: 70).map(\.label)
        #expect(days.allSatisfy { $0.count == 5 && $0.contains("-") })
        #expect(days.count >= 3)
        let months = XTicks.time(minX: start, maxX: start + 700 * 86_400, columns: 70).map(\.label)
        #expect(months.first == "2027-01")
        #expect(months.allSatisfy { $0.count == 7 })
        let years = XTicks.time(minX: 0, maxX: 40 * 365.25 * 86_400, columns: 70).map(\.label)
        #expect(years.first == "1970")
    }

    @Test func weeklyTicksFallOnMondays() {
        let start = 1_795_478_400.0 - 89 * 86_400
        let ticks = XTicks.time(minX: start, maxX: start + 89 * 86_400, columns: 74)
        for tick in ticks {
            let days = Int((tick.value / 86_400).rounded(.down))
            #expect((days + 3) % 7 == 0, "\(tick.label) is not a Monday")
        }
    }

    @Test func indexTicksAreNiceIntegersThatFit() {
        #expect(XTicks.index(minX: 1, maxX: 5, columns: 70).map(\.label) == ["1", "2", "3", "4", "5"])
        let many = XTicks.index(minX: 1, maxX: 500, columns: 70).map(\.label)
        #expect(many.first == "50" || many.first == "100")
        #expect(many.count <= 70 / 5)
        #expect(XTicks.index(minX: 3, maxX: 3, columns: 70).map(\.label) == ["3"])
    }

    @Test func fittedYScaleCoversTheDataWithNiceTicks() {
        let scale = YTicks.scale(minY: 0.512, maxY: 0.583, fixed: nil, rows: 12)
        #expect(scale.low < 0.512 && scale.high > 0.583)
        #expect(scale.ticks.count >= 3)
        for tick in scale.ticks { #expect(tick >= scale.low && tick <= scale.high) }
        let fixed = YTicks.scale(minY: 0.5, maxY: 0.6, fixed: 0...1, rows: 12)
        #expect(fixed.low == 0 && fixed.high == 1)
        #expect(YFormat.percent.tickLabels(fixed.ticks, step: fixed.step) == ["0%", "25%", "50%", "75%", "100%"])
    }
}

@Suite struct FormattingTests {
    @Test func singleValues() {
        #expect(YFormat.percent.format(0.55) == "55%")
        #expect(YFormat.percent.format(0.5512) == "55.1%")
        #expect(YFormat.fixed(2).format(3.14159) == "3.14")
        #expect(YFormat.fixed(0).format(-0.4) == "0")
        #expect(YFormat.auto.format(95_234) == "95.2k")
        #expect(YFormat.auto.format(3_400_000) == "3.4M")
        #expect(YFormat.auto.format(187.25) == "187.25")
        #expect(YFormat.auto.format(0.03125) == "0.03125")
        #expect(YFormat.auto.format(.nan) == "nan")
    }

    @Test func tickLabelsShareDecimalsAndSuffix() {
        #expect(YFormat.auto.tickLabels([94_000, 96_000, 98_000], step: 2_000) == ["94k", "96k", "98k"])
        #expect(YFormat.auto.tickLabels([94_500, 95_000], step: 500) == ["94.5k", "95.0k"])
        #expect(YFormat.auto.tickLabels([0.50, 0.525, 0.55], step: 0.025) == ["0.500", "0.525", "0.550"])
        #expect(YFormat.percent.tickLabels([0.5, 0.525], step: 0.025) == ["50.0%", "52.5%"])
        #expect(YFormat.fixed(1).tickLabels([1, 2], step: 1) == ["1.0", "2.0"])
    }

    @Test func niceSteps() {
        #expect(NumberText.niceStep(atLeast: 0.07) == 0.1)
        #expect(NumberText.niceStep(atLeast: 0.021) == 0.025)
        #expect(NumberText.niceStep(atLeast: 1_580) == 2_000)
        #expect(NumberText.niceStep(atLeast: 3) == 5)
    }
}
